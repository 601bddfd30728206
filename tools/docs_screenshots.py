"""Screenshot the built docs in headless Chromium, served on 127.0.0.1.

Build the site first (``sphinx-build -W --keep-going -b html docs
docs/_build/html``), then run ``python tools/docs_screenshots.py``. The PNGs
land in ``docs/_build/screenshots/`` (git-ignored with the rest of
``docs/_build``). The HTTP server is started on a free local port and
stopped before the script exits, even on failure.

Needs Chromium (Debian package ``chromium``) on PATH, or its path in
``$CHROMIUM``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: page -> window height; tall windows capture a figure below the fold.
#: Every gallery page is added to these (see :func:`default_pages`).
PAGES = {
    "index.html": 1000,
    "auto_examples/index.html": 1600,
    "api.html": 2600,
    "generated/relukit.relu.html": 3000,
    "user_guide/semantics.html": 3000,
    "user_guide/performance.html": 4000,
}
#: Window height for a gallery example: tall enough for all its figures.
EXAMPLE_HEIGHT = 5000

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the HTTP server did not start on port {port}")


def default_pages(html: Path) -> dict:
    """:data:`PAGES` and every example page of the built gallery."""
    examples = sorted((html / "auto_examples").glob("plot_*.html"))
    pages = dict(PAGES)
    for page in examples:
        pages[page.relative_to(html).as_posix()] = EXAMPLE_HEIGHT
    return pages


def shoot(chromium: str, url: str, out: Path, height: int, width: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={out}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "docs" / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "_build" / "screenshots")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument(
        "pages", nargs="*", help="pages relative to --html (default: every gallery page and a fixed set)"
    )
    args = parser.parse_args(argv)

    chromium = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if chromium is None:
        print(
            "chromium not found: install Debian's chromium package or set $CHROMIUM",
            file=sys.stderr,
        )
        return 2
    if not (args.html / "index.html").exists():
        print(f"no built site in {args.html}: run sphinx-build first", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    default = default_pages(args.html)
    pages = {page: default.get(page, 1000) for page in args.pages} if args.pages else default

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(args.html),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        for page, height in pages.items():
            out = args.out / (page.replace("/", "__").removesuffix(".html") + ".png")
            shoot(chromium, f"http://127.0.0.1:{port}/{page}", out, height, args.width)
            print(out)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
