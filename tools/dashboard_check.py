"""Open relukit's asv dashboard in headless Chromium; fail on what a reader would see broken.

Usage (from the repository root, with asv and relukit installed and Debian's
``chromium``)::

    python tools/dashboard_check.py [DIR]    # screenshots into DIR (default output/asv)

It publishes the committed results (``tools/asv_dashboard.py publish``),
serves them on 127.0.0.1, opens the benchmark grid and the ``relu`` and
``relu_grad`` graphs, saves a screenshot of each, and fails on:

- a request that failed or got an HTTP error (a missing vendored file: 404);
- a request to any host but 127.0.0.1 (the dashboard must work offline);
- asv's "continental origin of swallow" error page, or a JavaScript error;
- a graph with values at fewer than two commits, or one that does not open
  on relukit's default backend;
- a grid without the "no GPU results" note while there are none.

Chromium is driven through the DevTools protocol over
``--remote-debugging-pipe``. ``chromium --dump-dom`` cannot see failed
requests (a missing stylesheet leaves a page that still "loads") nor where
requests went; the protocol reports every request with its status. Over a
pipe it needs no port, no websocket library and no npm package: the
standard library speaks it (JSON messages ending in a NUL byte, on file
descriptors 3 and 4), so the check depends on nothing but Chromium.
Every host but 127.0.0.1 resolves to nothing, so a stray request fails at
once, rather than waiting on a network CI does not have, and is reported.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import asv_dashboard

#: Graph pages to open: (screenshot name, benchmark).
GRAPHS = [
    ("relu", "bench_relu.TimeRelu.time_relu"),
    ("relu_grad", "bench_relu.TimeReluGrad.time_relu_grad"),
]
WIDTH, HEIGHT = 1400, 1000
#: Seconds a page may take to settle; a rendered page takes about one.
PAGE_TIMEOUT = 30
#: Seconds without network traffic after which a page counts as settled.
QUIET = 0.5
FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers have a small /dev/shm
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    f"--window-size={WIDTH},{HEIGHT}",
    "--remote-debugging-pipe",
]
SWALLOW = "continental origin of swallow"

#: JavaScript run in the page until it returns something other than null.
GRID_STATE = r"""(() => {
  const text = document.body ? document.body.innerText : "";
  if (text.includes("SWALLOW")) return {error: text.trim().split("\n")[0]};
  const $ = window.jQuery;
  if (!$ || !$.asv || !$.asv.main_json || !$.asv.main_json.benchmarks) return null;
  const boxes = $("#summarygrid-display .benchmark-container").length;
  if (!boxes) return null;
  return {
    boxes: boxes,
    benchmarks: Object.keys($.asv.main_json.benchmarks).length,
    drawn: $("#summarygrid-display .benchmark-plot").has("canvas").length,
    note: $("#no-gpu-results").text().trim(),
  };
})()""".replace("SWALLOW", SWALLOW)

GRAPH_STATE = r"""(() => {
  const text = document.body ? document.body.innerText : "";
  if (text.includes("SWALLOW")) return {error: text.trim().split("\n")[0]};
  const $ = window.jQuery;
  const plot = $ && $("#main-graph").data("plot");
  if (!plot) return null;
  const commits = new Set();
  for (const series of plot.getData())
    for (const point of series.data)
      if (point && point[1] !== null) commits.add(point[0]);
  const selected = {};
  $("#graphdisplay-navigation .panel").each(function () {
    const name = $(this).find(".panel-heading").first().text().trim();
    selected[name] = $(this).find(".btn.active").map(function () {
      return $(this).text().trim();
    }).get();
  });
  const ticks = $("#main-graph .flot-y-axis .flot-tick-label").map(function () {
    return $(this).text().trim();
  }).get();
  return {
    commits: commits.size,
    curves: plot.getData().length,
    selected: selected,
    top: ticks.length ? ticks[ticks.length - 1] : null,
  };
})()""".replace("SWALLOW", SWALLOW)


class BrowserError(RuntimeError):
    pass


class Chromium:
    """Headless Chromium, spoken to through the DevTools protocol over a pipe."""

    def __init__(self, timeout: float = 30):
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if browser is None:
            raise SystemExit("chromium not found (Debian: apt-get install chromium)")
        self.timeout = timeout
        self.events = []
        self._replies = {}
        self._buffer = b""
        self._last_id = 0
        self._profile = tempfile.TemporaryDirectory()
        self._log = tempfile.TemporaryFile()
        # Chromium reads commands on fd 3 and writes on fd 4. Every end sits
        # at 10 or above, so moving two of them to 3 and 4 clobbers none;
        # bash, because dash cannot name descriptors past 9.
        theirs_in, ours_out = _high(*os.pipe())
        ours_in, theirs_out = _high(*os.pipe())
        move = f'exec "$0" "$@" 3<&{theirs_in} 4>&{theirs_out} {theirs_in}<&- {theirs_out}>&-'
        self._process = subprocess.Popen(
            ["bash", "-c", move, browser, *FLAGS, f"--user-data-dir={self._profile.name}"],
            pass_fds=(theirs_in, theirs_out),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        os.close(theirs_in)
        os.close(theirs_out)
        self._in, self._out = ours_in, ours_out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._in)
        os.close(self._out)
        self._log.close()
        self._profile.cleanup()

    def call(self, method: str, session: str | None = None, **params):
        """Send one command and return its result (events are kept in ``events``)."""
        self._last_id += 1
        number = self._last_id
        message = {"id": number, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._out, data) :]
        deadline = time.monotonic() + self.timeout
        while number not in self._replies:
            if time.monotonic() > deadline:
                raise BrowserError(f"{method}: no answer in {self.timeout} s")
            self.pump(deadline - time.monotonic())
        reply = self._replies.pop(number)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        return reply["result"]

    def pump(self, timeout: float) -> None:
        """Take in what Chromium sends within ``timeout`` seconds."""
        ready, _, _ = select.select([self._in], [], [], max(timeout, 0))
        if not ready:
            return
        chunk = os.read(self._in, 1 << 20)
        if not chunk:
            self._log.seek(0)
            output = self._log.read().decode(errors="replace")[-2000:]
            raise BrowserError(f"chromium exited:\n{output}")
        *messages, self._buffer = (self._buffer + chunk).split(b"\0")
        now = time.monotonic()
        for raw in messages:
            message = json.loads(raw)
            if "id" in message:
                self._replies[message["id"]] = message
            else:
                message["at"] = now
                self.events.append(message)


def _high(*fds: int) -> list[int]:
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds]
    for fd in fds:
        os.close(fd)
    return moved


def visit(browser: Chromium, url: str, state_js: str, shot: Path):
    """Load ``url`` in a new tab until the network is quiet and ``state_js`` has a value.

    Returns that value (None if there was none in time) and the problems
    seen on the way, after saving a screenshot to ``shot``.
    """
    target = browser.call("Target.createTarget", url="about:blank")["targetId"]
    session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Network", "Page", "Runtime"):
        browser.call(f"{domain}.enable", session)
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=WIDTH,
        height=HEIGHT,
        deviceScaleFactor=1,
        mobile=False,
    )
    browser.call("Page.navigate", session, url=url)
    deadline = time.monotonic() + PAGE_TIMEOUT
    state = None
    while time.monotonic() < deadline:
        browser.pump(0.1)
        events = [e for e in browser.events if e.get("sessionId") == session]
        if not _settled(events):
            continue
        found = browser.call("Runtime.evaluate", session, expression=state_js, returnByValue=True)
        if "exceptionDetails" in found:  # a mistake in state_js, not in the page
            raise BrowserError(f"state script failed: {found['exceptionDetails']}")
        state = found["result"].get("value")
        if state is not None:
            break
    png = browser.call("Page.captureScreenshot", session, format="png")["data"]
    shot.write_bytes(base64.b64decode(png))
    browser.call("Target.closeTarget", targetId=target)
    events = [e for e in browser.events if e.get("sessionId") == session]
    return state, _problems(events)


def _settled(events) -> bool:
    """The page loaded, nothing in flight and no traffic for ``QUIET`` seconds."""
    # Only the latest document counts: when asv gives up and moves to its
    # error page, the first page's pending requests never report an end.
    documents = [
        i
        for i, e in enumerate(events)
        if e["method"] == "Page.frameNavigated" and "parentId" not in e["params"]["frame"]
    ]
    events = events[documents[-1] :] if documents else []
    if not any(e["method"] == "Page.loadEventFired" for e in events):
        return False
    open_requests = set()
    last = 0.0
    for event in events:
        if event["method"].startswith("Network."):
            last = event["at"]
            request = event["params"].get("requestId")
            if event["method"] == "Network.requestWillBeSent":
                open_requests.add(request)
            elif event["method"] in ("Network.loadingFinished", "Network.loadingFailed"):
                open_requests.discard(request)
    return not open_requests and time.monotonic() - last > QUIET


def _problems(events) -> list[str]:
    urls, answered, problems = {}, set(), []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            url = urls[params["requestId"]] = params["request"]["url"]
            parts = urlsplit(url)
            if parts.scheme not in ("data", "blob", "about") and parts.hostname != "127.0.0.1":
                problems.append(f"request to another host: {url}")
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            answered.add(params["requestId"])
            problems.append(f"HTTP {params['response']['status']}: {params['response']['url']}")
        elif method == "Network.loadingFailed" and params["requestId"] not in answered:
            url = urls.get(params["requestId"], "?")
            problems.append(f"request failed ({params.get('errorText')}): {url}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.append(f"JavaScript error: {text}")
    return problems


def check_grid(state, gpu_note_expected: bool) -> list[str]:
    if state is None:
        return ["no benchmark grid drawn"]
    if "error" in state:
        return [f"asv's error page: {state['error']}"]
    problems = []
    if state["boxes"] != state["benchmarks"]:
        problems.append(f"{state['boxes']} boxes for {state['benchmarks']} benchmarks")
    if not state["drawn"]:
        problems.append("no summary graph drawn in the grid")
    if gpu_note_expected and "No GPU results" not in state["note"]:
        problems.append("no GPU results exist, but the grid does not say so")
    if not gpu_note_expected and state["note"]:
        problems.append("the grid says there are no GPU results, but there are")
    return problems


def check_graph(state, backend: str | None) -> list[str]:
    if state is None:
        return ["no graph drawn"]
    if "error" in state:
        return [f"asv's error page: {state['error']}"]
    problems = []
    if state["commits"] < 2:
        problems.append(f"values at {state['commits']} commit(s), need 2 or more")
    shown = state["selected"].get(asv_dashboard.BACKEND_PARAM)
    if backend is None:
        problems.append("cannot tell relukit's default backend (is relukit installed?)")
    elif shown is not None and shown != [backend]:
        problems.append(f"opens on backend {shown}, not the default {backend!r}")
    return problems


def check(out: Path) -> None:
    asv_dashboard.publish()
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    backend = asv_dashboard.default_backend()
    _, gpu_found = asv_dashboard.recorded(asv_dashboard.GPU_PREFIX)
    pages = [("grid", "", GRID_STATE)]
    pages += [(name, f"#{benchmark}", GRAPH_STATE) for name, benchmark in GRAPHS]
    failures = []
    with asv_dashboard.serving() as url, Chromium() as browser:
        for name, fragment, state_js in pages:
            shot = out / f"{name}.png"
            state, problems = visit(browser, url + fragment, state_js, shot)
            if name == "grid":
                problems += check_grid(state, gpu_note_expected=not gpu_found)
            else:
                problems += check_graph(state, backend)
            print(f"{name}: {json.dumps(state)}\n  screenshot {shot}")
            failures += [f"{name} ({url}{fragment}): {problem}" for problem in problems]
    if failures:
        raise SystemExit("dashboard check FAILED:\n  " + "\n  ".join(failures))
    print("dashboard check passed")


if __name__ == "__main__":
    check(Path(sys.argv[1]) if len(sys.argv) > 1 else asv_dashboard.ROOT / "output" / "asv")
