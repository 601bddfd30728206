"""What CPU this is, for show_config, the bench and the calibration."""

from __future__ import annotations

import platform


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it (``/proc/cpuinfo``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
