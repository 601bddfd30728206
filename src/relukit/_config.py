"""``show_config``: what relukit runs on here."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

from . import _background, _backends
from ._machine import cpu_model
from ._version import __version__


def _version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cupy_distribution() -> str:
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name == "cupy" or name.startswith("cupy-cuda"):
            return f"{dist.metadata['Name']} {dist.version}"
    return "not installed"


def _gpu_info() -> dict:
    """The current CUDA device as CuPy sees it, or why there is none.

    Returns
    -------
    dict
        ``available`` (bool). When True: ``device``, ``name``,
        ``compute_capability``, ``multiprocessors``, ``l2_cache_mib``,
        ``memory_gib``, ``free_gib``, ``cuda_runtime``, ``cuda_driver`` and
        ``cupy``. When False: ``reason``, one line saying what is missing
        (and the CuPy version when CuPy itself imports).
    """
    try:
        import cupy
    except ImportError as error:
        return {"available": False, "reason": f"CuPy cannot be imported ({error})"}
    try:
        device = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(device.id)
        free, total = device.mem_info
        runtime = cupy.cuda.runtime.runtimeGetVersion()
        driver = cupy.cuda.runtime.driverGetVersion()
    except Exception as error:  # no driver, no device, broken CUDA install
        return {
            "available": False,
            "reason": f"no usable CUDA device (CuPy {cupy.__version__}: {type(error).__name__}: {error})",
        }
    name = props["name"]
    return {
        "available": True,
        "device": device.id,
        "name": name.decode() if isinstance(name, bytes) else name,
        "compute_capability": f"{props['major']}.{props['minor']}",
        "multiprocessors": props["multiProcessorCount"],
        "l2_cache_mib": round(props["l2CacheSize"] / 2**20, 1),
        "memory_gib": round(total / 2**30, 1),
        "free_gib": round(free / 2**30, 1),
        "cuda_runtime": f"{runtime // 1000}.{runtime % 1000 // 10}",
        "cuda_driver": f"{driver // 1000}.{driver % 1000 // 10}",
        "cupy": cupy.__version__,
    }


def config() -> dict:
    """Everything :func:`show_config` prints, as a dictionary."""
    backends = _backends.available()
    info = {
        "relukit": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "versions": {
            name: _version_of(name) for name in ("numpy", "numba", "llvmlite", "dask", "torch")
        },
        "backends": backends,
    }
    info["versions"]["cupy"] = _cupy_distribution()
    if backends.get("numba") is True:
        info["threads"] = _backends.load("numba").threading_info()
        from . import _warmup

        info["kernels"] = {
            **_warmup.cache_status(),
            "ready": _warmup.compiled_units(),
            "background": _background.status(),
        }
    info["gpu"] = _gpu_info()
    return info


def _format(info: dict) -> str:
    lines = [f"relukit {info['relukit']}", ""]
    lines.append(f"python      {info['python']} on {info['platform']}")
    lines.append(f"cpus        {info['cpu_count']} x {info['cpu_model']} ({info['machine']})")
    lines.append("")
    lines.append("versions")
    for name, version in info["versions"].items():
        lines.append(f"  {name:10s}{version}")
    lines.append("")
    lines.append("backends")
    for name, status in info["backends"].items():
        lines.append(f"  {name:10s}{'available' if status is True else status}")
    threading_info = info.get("threads")
    if threading_info:
        lines.append("")
        lines.append("cpu threads")
        lines.append(f"  threads   {threading_info['threads']} (RELUKIT_NUM_THREADS sets it)")
        lines.append(f"  from      {threading_info['parallel_min_bytes'] // 1024} KiB of output")
        lines.append(f"            {threading_info['tasks_min_bytes'] // 1024} KiB for Python tasks")
        lines.append("")
        lines.append("cpu strategy")
        for line in threading_info["strategy"]:
            lines.append(f"  {line}")
    kernels = info.get("kernels")
    if kernels:
        lines.append("")
        lines.append("cpu kernels (Numba)")
        state = "writable" if kernels["writable"] else "read-only: compiled in memory each process"
        lines.append(f"  cache     {kernels['folder']} ({state})")
        lines.append(f"  cached    {kernels['cached_kernels']} compiled kernels on disk")
        ready = kernels["ready"]
        lines.append(f"  ready     {len(ready)} drivers in this process" + (":" if ready else ""))
        for name in ready:
            lines.append(f"    {name}")
        lines.append("  (python -m relukit warmup compiles the common ones ahead of time)")
        background = kernels["background"]
        switch = "on" if background["enabled"] else "off"
        lines.append(
            f"  background compiling {switch}: a call whose kernel is not ready uses the"
            if background["enabled"]
            else f"  background compiling {switch}: calls wait for their kernels"
        )
        if background["enabled"]:
            lines.append("    NumPy reference meanwhile (RELUKIT_BACKGROUND_COMPILE=0 turns it off)")
        lines.append(f"  prepared  {background['prepared']} in the background")
        for name in background["preparing"]:
            lines.append(f"  preparing {name}")
        for name, error in background["failed"].items():
            lines.append(f"  FAILED    {name}: {error}")
    lines.append("")
    gpu = info["gpu"]
    if gpu["available"]:
        lines.append("gpu")
        lines.append(f"  device    {gpu['device']}: {gpu['name']}")
        lines.append(f"  memory    {gpu['memory_gib']} GiB ({gpu['free_gib']} GiB free)")
        lines.append(
            f"  arch      compute {gpu['compute_capability']}, {gpu['multiprocessors']} SMs, "
            f"L2 {gpu['l2_cache_mib']} MiB"
        )
        lines.append(f"  cuda      runtime {gpu['cuda_runtime']}, driver {gpu['cuda_driver']}")
        lines.append(f"  cupy      {gpu['cupy']}")
    else:
        lines.append(f"gpu         none: {gpu['reason']}")
    return "\n".join(lines)


def show_config(mode: str = "stdout"):
    """Print (or return) versions, backends, threading and GPU information.

    Parameters
    ----------
    mode : {"stdout", "dicts"}, default "stdout"
        ``"stdout"`` prints a report; ``"dicts"`` returns it as a dict.

    Returns
    -------
    dict or None
        The report when ``mode="dicts"``.

    Raises
    ------
    ValueError
        If `mode` is neither ``"stdout"`` nor ``"dicts"``.

    See Also
    --------
    relu : The function whose backends are reported.

    Notes
    -----
    This loads every backend it reports on (Numba, and CuPy if installed),
    so it takes as long as their imports. The same report is printed by
    ``python -m relukit info``.

    Examples
    --------
    >>> import relukit as rk
    >>> info = rk.show_config(mode="dicts")
    >>> info["backends"]["numpy"]
    True
    """
    info = config()
    if mode == "dicts":
        return info
    if mode != "stdout":
        raise ValueError(f"mode must be 'stdout' or 'dicts', got {mode!r}")
    print(_format(info))
    return None
