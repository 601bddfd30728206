"""Publish relukit's asv dashboard so it works with no internet, serve it, check it.

asv's ``index.html`` loads jQuery, flot, Bootstrap, stupidtable and md5
from CDNs; offline the page shows only an error. This script points those
tags at copies committed in ``asv_bench/vendor/`` (exact versions from the
npm registry) and serves the result on 127.0.0.1 only.

Usage (from the repository root, with asv installed: ``pip install -e ".[asv]"``)::

    python tools/asv_dashboard.py publish        # asv publish + offline rewrite
    python tools/asv_dashboard.py serve [PORT]   # publish, then serve until Ctrl-C
    python tools/asv_dashboard.py check [DIR]    # publish, open in headless Chromium,
                                                 # screenshots into DIR (default output/asv)
    python tools/asv_dashboard.py vendor         # maintainers: refetch vendor/ with npm
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASV_DIR = ROOT / "asv_bench"
VENDOR = ASV_DIR / "vendor"
HTML = ASV_DIR / "html"

#: npm package -> exact version. These are the versions asv 0.6's index.html
#: names, except stupid-table-plugin: asv names 1.0.1, npm only has 1.1.3.
PACKAGES = {
    "jquery": "3.3.1",
    "flot": "0.8.3",
    "flot-orderbars": "1.0.0",
    "stupid-table-plugin": "1.1.3",
    "blueimp-md5": "2.19.0",
    "bootstrap": "3.1.1",
}

#: File name at the end of a CDN address in asv's index.html -> (package, path
#: inside the package). flot's npm package ships unminified files only.
FILES = {
    "jquery-3.3.1.min.js": ("jquery", "dist/jquery.min.js"),
    "jquery.flot.min.js": ("flot", "jquery.flot.js"),
    "jquery.flot.time.min.js": ("flot", "jquery.flot.time.js"),
    "jquery.flot.selection.min.js": ("flot", "jquery.flot.selection.js"),
    "jquery.flot.categories.min.js": ("flot", "jquery.flot.categories.js"),
    "jquery.flot.orderBars.js": ("flot-orderbars", "js/jquery.flot.orderBars.js"),
    "stupidtable.min.js": ("stupid-table-plugin", "stupidtable.min.js"),
    "md5.min.js": ("blueimp-md5", "js/md5.min.js"),
    "bootstrap.min.js": ("bootstrap", "dist/js/bootstrap.min.js"),
    "bootstrap.min.css": ("bootstrap", "dist/css/bootstrap.min.css"),
}
#: Loaded by bootstrap.min.css (relative to it) for its icons.
EXTRA_FILES = [
    ("bootstrap", f"dist/fonts/glyphicons-halflings-regular.{ext}")
    for ext in ("eot", "svg", "ttf", "woff")
]
LICENSES = ("LICENSE", "LICENSE.txt", "LICENSE.md")

#: Graph pages the check opens: (screenshot name, benchmark id).
GRAPHS = [
    ("relu", "bench_relu.TimeRelu.time_relu"),
    ("relu_grad", "bench_relu.TimeReluGrad.time_relu_grad"),
]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
    "--virtual-time-budget=8000",
]


def vendored_path(package: str, path: str) -> str:
    """Where a file lives under ``vendor/``: one folder per package and version."""
    return f"{package}-{PACKAGES[package]}/{path}"


def vendor() -> None:
    """Refetch ``asv_bench/vendor/`` with ``npm pack`` (needs npm and the registry)."""
    wanted = sorted(set(FILES.values()) | set(EXTRA_FILES))
    with tempfile.TemporaryDirectory() as tmp:
        specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
        subprocess.run(["npm", "pack", "--silent", *specs], cwd=tmp, check=True)
        for name, version in PACKAGES.items():
            shutil.rmtree(VENDOR / f"{name}-{version}", ignore_errors=True)
            with tarfile.open(Path(tmp) / f"{name}-{version}.tgz") as tar:
                members = {m.name.removeprefix("package/"): m for m in tar.getmembers()}
                paths = [p for pkg, p in wanted if pkg == name]
                paths += [p for p in LICENSES if p in members]
                for path in paths:
                    target = VENDOR / vendored_path(name, path)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tar.extractfile(members[path]).read())
    print(f"vendored {len(PACKAGES)} packages into {VENDOR.relative_to(ROOT)}")


#: A script or stylesheet loaded from another host (links to pages stay).
_EXTERNAL = re.compile(
    r'(?P<tag><(?:script|link)\b[^>]*?)(?P<attr>src|href)="(?P<url>https?://[^"]+)"'
)


def make_offline(html: Path = HTML) -> None:
    """Point ``html/index.html`` at the vendored files and copy them next to it."""
    index = html / "index.html"
    text = index.read_text(encoding="utf-8")

    def local(match):
        name = match["url"].rsplit("/", 1)[-1]
        if name not in FILES:
            raise SystemExit(f"no vendored copy for {match['url']}: add it to FILES")
        return f'{match["tag"]}{match["attr"]}="vendor/{vendored_path(*FILES[name])}"'

    text = _EXTERNAL.sub(local, text)
    # The CDN files' hashes do not match these builds (flot is unminified),
    # and crossorigin is meaningless for same-origin files.
    text = re.sub(r'\s+(integrity|crossorigin|referrerpolicy)="[^"]*"', "", text)
    left = _EXTERNAL.findall(text)
    if left:
        raise SystemExit(f"external files left in index.html: {left}")
    index.write_text(text, encoding="utf-8")
    shutil.copytree(VENDOR, html / "vendor", dirs_exist_ok=True)


def publish() -> None:
    subprocess.run([sys.executable, "-m", "asv", "publish"], cwd=ASV_DIR, check=True)
    make_offline()
    print(f"offline dashboard in {HTML.relative_to(ROOT)}")


@contextlib.contextmanager
def serving(port: int = 0):
    """Serve ``html/`` on 127.0.0.1: from file:// the dashboard cannot load its JSON."""
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def serve(port: int) -> None:
    publish()
    with serving(port) as url:
        print(f"serving the dashboard at {url} (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


def chromium(*args: str) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
    return done.stdout


def commits_in_graph(benchmark: str) -> int:
    """The most commits with a value in any of ``benchmark``'s published graphs."""
    def measured(value):
        # A parametrized benchmark has one value per parameter combination.
        values = value if isinstance(value, list) else [value]
        return any(v is not None for v in values)

    best = 0
    for graph in (HTML / "graphs").rglob(f"{benchmark}.json"):
        points = json.loads(graph.read_text())
        best = max(best, len({revision for revision, value in points if measured(value)}))
    return best


def check(out: Path) -> None:
    """Render the grid and the relu/relu_grad graphs; fail on a broken page."""
    publish()
    out.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, benchmark in GRAPHS:
        commits = commits_in_graph(benchmark)
        print(f"{benchmark}: values at {commits} commits")
        if commits < 2:
            problems.append(f"{benchmark} has values at {commits} commit(s), need 2 or more")
    with serving() as url:
        pages = [("grid", url)] + [(name, f"{url}#{benchmark}") for name, benchmark in GRAPHS]
        for name, page in pages:
            shot = (out / f"{name}.png").resolve()
            chromium(f"--screenshot={shot}", page)
            dom = chromium("--dump-dom", page)
            if "failed to load" in dom or not shot.exists():
                problems.append(f"{page}: dependencies failed to load or no screenshot")
            if name != "grid" and "flot-tick-label" not in dom:
                problems.append(f"{page}: no graph axes drawn")
            if name == "grid" and "benchmark-container" not in dom:
                problems.append(f"{page}: no benchmark grid drawn")
            print(f"{name}: {shot.relative_to(ROOT)}")
    if problems:
        raise SystemExit("dashboard check failed:\n  " + "\n  ".join(problems))
    print("dashboard check passed: look at the screenshots too")


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "publish"
    if command == "vendor":
        vendor()
    elif command == "publish":
        publish()
    elif command == "serve":
        serve(int(argv[1]) if len(argv) > 1 else 8080)
    elif command == "check":
        check(Path(argv[1]) if len(argv) > 1 else ROOT / "output" / "asv")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
