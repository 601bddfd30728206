"""Publish relukit's asv dashboard so it works with no internet, and serve it.

asv's ``index.html`` loads jQuery, flot, Bootstrap, stupidtable and md5
from CDNs; offline the page shows only an error. This script points those
tags at copies committed in ``asv_bench/vendor/`` (exact versions from the
npm registry) and serves the result on 127.0.0.1 only. It also shapes what
a reader sees first: graphs open on relukit's default backend rather than
the NumPy reference, and the grid says so when no GPU results exist.

Usage (from the repository root, with asv installed: ``pip install -e ".[asv]"``)::

    python tools/asv_dashboard.py publish        # asv publish + offline rewrite
    python tools/asv_dashboard.py serve [PORT]   # publish, then serve until Ctrl-C
    python tools/asv_dashboard.py vendor         # maintainers: refetch vendor/ with npm

``python tools/dashboard_check.py [DIR]`` renders the result in headless
Chromium and fails on what a reader would see broken (CI runs it).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import math
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from html import escape as html_escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASV_DIR = ROOT / "asv_bench"
VENDOR = ASV_DIR / "vendor"
HTML = ASV_DIR / "html"
RESULTS = ASV_DIR / "results"

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

#: The benchmarks' parameter that names the relukit backend.
BACKEND_PARAM = "backend"
#: Names of the GPU benchmarks (asv_bench/benchmarks/bench_gpu.py).
GPU_PREFIX = "bench_gpu."


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


def missing_vendored_files() -> list[str]:
    """Files the page loads that ``vendor/`` lacks (a clone that lost some)."""
    needed = {vendored_path(*item) for item in (*FILES.values(), *EXTRA_FILES)}
    return sorted(path for path in needed if not (VENDOR / path).is_file())


def default_backend() -> str | None:
    """The backend relukit picks for NumPy arrays when the caller names none."""
    try:
        from relukit import _backends

        return _backends.default_for("numpy")
    except (ImportError, AttributeError) as error:
        print(f"cannot ask relukit for its default backend ({error}): graphs keep asv's order")
        return None


def default_backend_first(benchmarks_json: Path, backend: str) -> None:
    """Put ``backend`` first in every benchmark's ``backend`` parameter.

    asv's graph page first shows, of each parameter, its leading values (as
    many as fit in eight curves): the first backend is the one a reader sees.
    asv matches results to parameter values, not positions, so reordering
    the values changes what is shown first and nothing else.
    """
    benchmarks = json.loads(benchmarks_json.read_text())
    for name, benchmark in benchmarks.items():
        if name == "version":
            continue
        for param, values in zip(benchmark.get("param_names", []), benchmark.get("params", [])):
            if param == BACKEND_PARAM:
                values.sort(key=lambda value: value != repr(backend))
    benchmarks_json.write_text(json.dumps(benchmarks))


def _has_value(result) -> bool:
    # One value per parameter combination; a skipped combination is null
    # (or NaN), a benchmark skipped as a whole has null instead of a list.
    values = result if isinstance(result, list) else [result]
    return any(value is not None and not math.isnan(value) for value in values)


def recorded(prefix: str, results: Path = RESULTS) -> tuple[list[str], bool]:
    """The machines with results, and whether any has a value for a ``prefix*`` benchmark."""
    machines, found = set(), False
    for path in results.glob("*/*.json"):
        # asv ignores a folder without machine.json; a dry run leaves one
        # with machine.json alone.
        if path.name == "machine.json" or not (path.parent / "machine.json").is_file():
            continue
        machines.add(path.parent.name)
        data = json.loads(path.read_text())
        column = data["result_columns"].index("result")
        found = found or any(
            _has_value(row[column])
            for name, row in data["results"].items()
            if name.startswith(prefix)
        )
    return sorted(machines), found


def note_missing_gpu_results(html: Path = HTML) -> None:
    """Say above the grid that the GPU boxes are empty because nothing was measured."""
    benchmarks = json.loads((RESULTS / "benchmarks.json").read_text())
    machines, found = recorded(GPU_PREFIX)
    if found or not any(name.startswith(GPU_PREFIX) for name in benchmarks):
        return
    suite = GPU_PREFIX.rstrip(".")
    note = (
        '<div id="no-gpu-results" class="alert alert-info" style="margin: 10px 20px 0">'
        "<strong>No GPU results have been recorded yet.</strong> "
        f"The <code>{suite}</code> benchmarks have no value on any machine so far "
        f"({html_escape(', '.join(machines)) or 'none'}), so their boxes below are "
        "empty. docs/user_guide/benchmarking.rst tells how to run them on a machine "
        "with an NVIDIA GPU.</div>"
    )
    index = html / "index.html"
    text, count = re.subn(
        r'<div id="summarygrid-display"[^>]*>', lambda m: m[0] + note, index.read_text("utf-8")
    )
    if count != 1:
        raise SystemExit("asv's index.html has no summarygrid-display: update the GPU note")
    index.write_text(text, encoding="utf-8")


def config_reading(results: Path) -> dict:
    """``asv.conf.json``, changed to read the results in ``results``.

    asv reads a config's paths relative to the file, and this copy lives
    elsewhere: its paths become absolute.
    """
    from asv import util  # asv's own reader: the file has // comments

    config = util.load_json(str(ASV_DIR / "asv.conf.json"), js_comments=True)
    for key in ("repo", "benchmark_dir", "env_dir", "html_dir"):
        if key in config:
            config[key] = str((ASV_DIR / config[key]).resolve())
    config["results_dir"] = str(results)
    return config


def drop_unmeasured(results_dir: Path) -> list:
    """Remove from ``benchmarks.json`` the benchmarks no machine has a result for.

    asv's grid asks for a summary graph of every benchmark it lists, and a
    benchmark that was added to the suites but never run anywhere has none
    (an HTTP 404 and an empty box). Returns the names dropped.
    """
    measured = set()
    for path in results_dir.glob("*/*.json"):
        if path.name == "machine.json":
            continue
        measured.update(json.loads(path.read_text()).get("results", {}))
    benchmarks_json = results_dir / "benchmarks.json"
    benchmarks = json.loads(benchmarks_json.read_text())
    dropped = sorted(name for name in benchmarks if name != "version" and name not in measured)
    for name in dropped:
        del benchmarks[name]
    benchmarks_json.write_text(json.dumps(benchmarks))
    return dropped


def drop_graphless(html: Path = HTML) -> None:
    """Leave out of the published index the benchmarks asv drew no summary for.

    asv skips the summary graph of a benchmark whose recorded results all
    failed or were skipped under parameters it no longer has; the grid would
    ask for it anyway (an HTTP 404 and an empty box).
    """
    index_path = html / "index.json"
    index = json.loads(index_path.read_text())
    summary = html / "graphs" / "summary"
    missing = [name for name in index["benchmarks"] if not (summary / f"{name}.json").exists()]
    for name in missing:
        del index["benchmarks"][name]
    index_path.write_text(json.dumps(index))
    if missing:
        print(f"{len(missing)} benchmark(s) without a summary graph left out of the grid")


def publish() -> None:
    """``asv publish`` into ``html/``, then make the site offline and plain."""
    missing = missing_vendored_files()
    if missing:
        raise SystemExit(
            f"missing in {VENDOR.relative_to(ROOT)}: {', '.join(missing)}\n"
            "the dashboard would not load: restore them (git checkout, or "
            "python tools/asv_dashboard.py vendor)"
        )
    # Publish from a copy of the results: the reordering is for readers
    # only, the committed benchmarks.json stays as asv wrote it.
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        shutil.copytree(RESULTS, results)
        backend = default_backend()
        if backend is not None:
            default_backend_first(results / "benchmarks.json", backend)
        dropped = drop_unmeasured(results)
        if dropped:
            print(f"{len(dropped)} benchmark(s) not shown: no results on any machine yet")
        config = Path(tmp) / "asv.conf.json"
        config.write_text(json.dumps(config_reading(results)))
        subprocess.run(
            [sys.executable, "-m", "asv", "--config", str(config), "publish"], check=True
        )
    make_offline()
    drop_graphless()
    note_missing_gpu_results()
    print(f"offline dashboard in {HTML.relative_to(ROOT)}")


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A browser that stops loading (a closed tab, a reload) drops the
        # connection mid-answer: a BrokenPipeError here, nothing wrong.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Handler(http.server.SimpleHTTPRequestHandler):
    """Logs only the requests that failed: a missing file is worth a line."""

    def log_request(self, code="-", size="-"):
        if isinstance(code, int) and code >= 400:
            super().log_request(code, size)

    def log_error(self, format, *args):
        pass  # log_request reports the same request


@contextlib.contextmanager
def serving(port: int = 0):
    """Serve ``html/`` on 127.0.0.1: from file:// the dashboard cannot load its JSON."""
    server = Server(("127.0.0.1", port), functools.partial(Handler, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def serve(port: int) -> None:
    publish()
    with serving(port) as url:
        print(f"serving the dashboard at {url} (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "publish"
    if command == "vendor":
        vendor()
    elif command == "publish":
        publish()
    elif command == "serve":
        serve(int(argv[1]) if len(argv) > 1 else 8080)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
