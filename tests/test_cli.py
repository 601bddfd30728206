"""``python -m relukit info`` and ``python -m relukit bench``."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from relukit import __main__ as cli
from relukit import _bench, _bench_plot
from relukit import _bench_report as report
from relukit import _bench_targets as targets
from relukit._ops import OPERATIONS

ROOT = Path(__file__).resolve().parent.parent
#: What a bench without --ops times (relu's and gelu's operations): the
#: tiny run below checks each of them, and that nothing else was timed.
DEFAULT_OPERATIONS = _bench.select_operations(_bench.DEFAULT_OPS)


def test_info_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "relukit", "info"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for needle in ("relukit", "numba", "backends", "threads", "gpu"):
        assert needle in result.stdout


# --- every option is checked before the first timing ----------------------------


@pytest.fixture
def no_timing(monkeypatch):
    """Fail the test if the bench gets as far as timing anything."""

    def refuse(*args, **kwargs):
        raise AssertionError("timed before the options were checked")

    monkeypatch.setattr(_bench, "warm_up", refuse)
    monkeypatch.setattr(_bench, "run", refuse)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--backends", "foo"], "--backends: invalid choice: 'foo'"),
        (["--dtype", "int8"], "--dtype: invalid choice: 'int8'"),
        (["--sizes", "abc"], "--sizes: 'abc' is not a number of elements (e.g. 1e6)"),
        (["--sizes", "0.5"], "--sizes: '0.5' is not a whole number of elements"),
        (["--sizes", "1e15"], "--sizes: 1e+15 elements of float64 need about"),
        (["--repeat", "0"], "--repeat: 0 samples?"),
        (["--repeat", "x"], "--repeat: invalid int value: 'x'"),
        (["--plot", "{missing}/x.png"], "--plot: the folder"),
        (["--plot", "{tmp}/x.notanimage"], "--plot: '"),
        (["--plot", "{tmp}"], "is a directory"),
        (["--json", "{missing}/x.json"], "--json: the folder"),
        (["--json", "{tmp}"], "--json: '"),
    ],
)
def test_bad_options_are_refused_before_timing(arguments, message, tmp_path, capsys, no_timing):
    paths = {"missing": str(tmp_path / "no" / "such" / "folder"), "tmp": str(tmp_path)}
    arguments = [a.format(**paths) for a in arguments]
    start = time.perf_counter()
    with pytest.raises(SystemExit) as stopped:
        cli.main(["bench", *arguments])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
    assert time.perf_counter() - start < 5


def test_plot_extension_message_names_the_formats(tmp_path):
    pytest.importorskip("matplotlib")
    problem = _bench_plot.check_path(str(tmp_path / "x.notanimage"))
    assert "cannot write '.notanimage'" in problem and ".png" in problem
    assert _bench_plot.check_path(str(tmp_path / "x.svg")) is None


@pytest.mark.parametrize("text, size", [("1e6", 10**6), ("1000", 1000), ("2**20", 2**20)])
def test_sizes_are_read_as_numbers_of_elements(text, size):
    assert cli.parse_size(text) == size


# --- a tiny run, checked once for everything it prints and writes ---------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One run at 1e3 elements, one sample, with --json and --plot."""
    folder = tmp_path_factory.mktemp("bench")
    json_path, png_path = folder / "bench.json", folder / "bench.png"
    arguments = ["bench", "--sizes", "1e3", "--repeat", "1", "--dtype", "float32", "--json", str(json_path)]
    if _bench_plot.check_path(str(png_path)) is None:  # matplotlib installed
        arguments += ["--plot", str(png_path)]
    result = subprocess.run(
        [sys.executable, "-m", "relukit", *arguments], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, json_path, png_path


def test_output_fits_80_columns(tiny_run):
    stdout, _, _ = tiny_run
    too_wide = [line for line in stdout.splitlines() if len(line) > 80]
    assert not too_wide


def test_output_explains_and_checks(tiny_run):
    stdout, _, _ = tiny_run
    assert "How to read the tables" in stdout
    assert 'relukit [numpy]: relukit forced onto its NumPy reference backend' in stdout
    for op in DEFAULT_OPERATIONS:
        for mode in report.MODES:
            assert f"{op.name}, float32, {report.MODE_TITLES[mode]}" in stdout
    for op in OPERATIONS:
        if op not in DEFAULT_OPERATIONS:  # timed only on request (--ops)
            # At a line's start: "elu, float32," is also the end of "gelu, float32,".
            assert re.search(rf"^{re.escape(op.name)}, float32,", stdout, re.MULTILINE) is None
    assert "np.maximum(x, 0)" in stdout
    assert "Targets" in stdout
    assert "needs --sizes 1e8" in stdout
    assert "needs --dtype float64" in stdout
    assert "needs --busy" in stdout
    # The suite runs with RELUKIT_CALIBRATION=off: the bench says so, measures nothing.
    assert "strategy: RELUKIT_CALIBRATION=off: ordinary stores" in stdout
    assert "calibrating" not in stdout


def test_json_has_every_job(tiny_run):
    _, json_path, _ = tiny_run
    payload = json.loads(json_path.read_text())
    assert payload["machine"]["cores"] == os.cpu_count()
    rows = payload["rows"]
    assert all(row["seconds"] > 0 and row["samples"] for row in rows)
    for op in DEFAULT_OPERATIONS:
        for mode in report.MODES:
            labels = {r["label"] for r in rows if r["function"] == op.name and r["mode"] == mode}
            assert report.relukit_label(op, mode) in labels
            assert labels & set(op.peers(mode)), (op.name, mode)
    measured = [t for t in payload["targets"] if "measured" in t]
    assert measured and all(isinstance(t["met"], bool) for t in measured)


def test_plot_is_written(tiny_run):
    _, _, png_path = tiny_run
    pytest.importorskip("matplotlib")
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_help_fits_80_columns():
    env = dict(os.environ, COLUMNS="80")
    result = subprocess.run(
        [sys.executable, "-m", "relukit", "bench", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_gpu_check_help_without_a_gpu():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gpu_check.py"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "--compile-only" in result.stdout


# --- the pieces -------------------------------------------------------------------


def _row(function, mode, label, seconds, library, samples=()):
    ours = library.startswith("relukit")
    return report.Row(function, mode, "float32", 1000, label, library, ours, seconds, 1.0, samples)


def test_targets_are_checked_like_with_like():
    rows = [
        _row("relu", "allocating", "relukit", 1.0, "relukit"),
        _row("relu", "allocating", "np.maximum(x, 0)", 3.0, "numpy"),
        _row("relu", "out", "relukit out=y", 2.0, "relukit"),
        _row("relu", "out", "np.maximum(x, 0, out=y)", 1.0, "numpy", (1.0, 2.0)),
    ]
    hints = targets.Hints(size=lambda sizes: f"needs --sizes {sizes}", dtype=lambda d: f"needs --dtype {d}")
    wanted = (
        targets.Target(1.0, ("relu",), ("allocating", "out"), (1000,), ("float32",)),
        targets.Target(1.5, ("relu",), ("allocating",), (1000, 10**8), ("float32",), peer="np.maximum(x, 0)"),
    )
    best, named = targets.check_targets(rows, wanted, ["relu"], False, hints)
    assert [round(c.ratio, 2) for c in best.comparisons] == [3.0, 0.5]
    assert [c.peer.label for c in best.misses] == ["np.maximum(x, 0, out=y)"]
    assert named.not_run == {"needs --sizes [100000000]": 1}
    text = targets.format_targets([best, named])
    assert "MISSED at 1 of 2 jobs measured (lowest 0.50x SLOWER)" in text
    assert "miss: relu out=y vs np.maximum(x, 0, out=y): 1e3 float32 0.50x SLOWER ~" in text
    assert "met at all 1 job measured (lowest 3.00x)" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_ratio_below_one_is_a_slowdown():
    assert report.ratio_text(0.73) == "0.73x SLOWER"
    assert report.ratio_text(2.0) == "2.00x"


def test_disturbances_are_reported_with_advice(monkeypatch):
    rows = [_row("relu", "allocating", "relukit", 1.0, "relukit", (1.0, 2.0))]
    text = " ".join(report.format_disturbances(rows, []).split())
    assert "1 row (marked ~)" in text and "relu allocating 1e3 float32" in text and "--busy" in text
    monkeypatch.setattr(os, "getloadavg", lambda: (50.0, 0.0, 0.0))
    assert "load average was 50.0" in _bench.load_note("at the start")
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert _bench.load_note("at the start") is None


def test_busy_cores_are_stopped_afterwards():
    with _bench.busy_cores(1) as spinners:
        assert all(spinner.poll() is None for spinner in spinners)
    assert all(spinner.poll() is not None for spinner in spinners)


def test_a_sample_waits_for_threads_a_peer_left_spinning():
    # A pure-Python spinner stands for PyTorch's OpenMP threads after a call.
    def spin(seconds=0.2):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    spinner = threading.Thread(target=spin)
    spinner.start()
    # Steps long enough that no pause of the VM passes for a quiet process.
    waited = _bench.settle(step=0.02, limit=5.0)
    assert not spinner.is_alive() and waited > 0
    spinner.join()
    assert _bench.settle() < _bench.SETTLE_LIMIT  # a quiet process settles at once


def test_every_timed_sample_starts_settled(monkeypatch):
    settled = []
    monkeypatch.setattr(_bench, "settle", lambda: settled.append(1) or 0.0)
    samples = _bench.sample_interleaved({"a": lambda: None, "b": lambda: None}, repeat=3)
    assert {len(v) for v in samples.values()} == {3}
    assert len(settled) == 2 + 2 * 3  # each loop-count timing, then each sample


def test_the_loop_count_comes_from_the_fastest_of_three_calls(monkeypatch):
    """The first call after settling may be slow; the sample's count of calls
    must not be taken from it alone."""
    monkeypatch.setattr(_bench, "settle", lambda: 0.0)
    durations = iter([0.0, 0.02, 0.001, 0.001])  # untimed, then the three timed
    calls = []

    def call():
        time.sleep(next(durations, 0.0))
        calls.append(1)

    _bench.sample_interleaved({"a": call}, repeat=1)
    # From the 20 ms call alone a sample of 5 ms would be one call; from the
    # fastest, about five.
    assert len(calls) - 4 >= 3


def test_compile_pause_is_announced(monkeypatch, capsys):
    def slow_warm_up(*args):
        time.sleep(0.8)
        return 0.8

    monkeypatch.setattr(_bench, "warm_up", slow_warm_up)
    cli._compile(cli.argparse.Namespace(dtypes=["float32"], backends=["numba"], sizes=[1000]))
    assert "compiling relukit's kernels for this machine (first use only; cached)... 0.8 s" in (
        capsys.readouterr().out
    )


def test_the_bench_names_no_history():
    from relukit import _bench_gpu

    for module in (cli, _bench, _bench_gpu, _bench_plot, report, targets):
        text = inspect.getsource(module).lower()
        assert "the seed" not in text and "core issue" not in text, module.__name__


def test_warmup_compiles_and_reports_the_cache(capsys):
    from relukit.__main__ import main

    assert main(["warmup", "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    assert "Numba cache:" in out
    for op in OPERATIONS:  # every operation of the table is compiled
        assert f"  {op.name} " in out


def test_calibrate_dry_run_measures_and_saves_nothing(capsys, tmp_path, monkeypatch):
    from relukit.__main__ import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert main(["calibrate", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "stores into out=" in out and "pool from" in out
    assert not any(tmp_path.iterdir())


def test_calibrate_runs_with_background_compiling_on(tmp_path):
    # The default a user has: the drivers calibrate times are not compiled
    # yet in a fresh process, and must not be left to the background thread.
    env = dict(os.environ, RELUKIT_BACKGROUND_COMPILE="1", XDG_CACHE_HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "relukit", "calibrate", "--dry-run"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "stores into out=" in result.stdout and "pool from" in result.stdout


def test_bench_calibrates_a_machine_with_no_calibration(tmp_path, monkeypatch):
    from relukit import _calibrate, _numba

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("RELUKIT_CALIBRATION")
    for name in ("CALIBRATION", "PARALLEL_MIN_BYTES", "TASKS_MIN_BYTES", "STREAM_MIN_BYTES"):
        monkeypatch.setattr(_numba, name, getattr(_numba, name))  # restored afterwards
    _numba.use_calibration(None)
    measured = {
        "cpu": _calibrate.cpu_model(), "versions": _calibrate._versions(), "threads": 2,
        "when": "2026-11-29 12:00:00", "loadavg": 0.1, "stream": True,
        "stream_trial": {"bytes": 64 << 20, "direct_s": 0.012, "streamed_s": 0.011},
        "parallel_min_bytes": 8 << 20, "tasks_min_bytes": 16 << 20, "pool_trials": {},
    }
    monkeypatch.setattr(_calibrate, "measure", lambda backend: measured)
    announced = []
    lines = _bench.strategy(announce=lambda: announced.append(1))
    assert announced == [1]
    assert _calibrate.load() == json.loads(json.dumps(measured))  # saved for later processes
    assert _numba.PARALLEL_MIN_BYTES == 8 << 20  # and used by this one
    assert _numba.TASKS_MIN_BYTES == 16 << 20
    assert _numba.STREAM_MIN_BYTES == _calibrate.STREAMING_FROM_BYTES
    text = "\n".join(lines)
    assert "strategy: streaming stores" in text and "pool from 8192 KiB" in text
    assert "measured now, saved" in text

    def refuse(backend):
        raise AssertionError("measured again")

    monkeypatch.setattr(_calibrate, "measure", refuse)
    assert _bench.strategy(announce=refuse)[:2] == lines[:2]  # measured once per machine


def test_calibration_of_another_cpu_or_strategy_is_ignored(tmp_path, monkeypatch):
    import json

    from relukit import _calibrate

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("RELUKIT_CALIBRATION")
    path = _calibrate.cache_path()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"cpu": "some other CPU", "versions": _calibrate._versions()}))
    assert _calibrate.load() is None
    assert "not measured" in _calibrate.describe(None)[0]
    monkeypatch.setenv("RELUKIT_CALIBRATION", "off")
    # show_config and the bench say why nothing saved is used.
    off = ["RELUKIT_CALIBRATION=off: ordinary stores, pool from 1024 KiB"]
    assert _calibrate.describe(None) == off
    monkeypatch.delenv("RELUKIT_CALIBRATION")
    mine = {"cpu": _calibrate.cpu_model(), "versions": _calibrate._versions(), "stream": True}
    path.write_text(json.dumps(mine))
    assert _calibrate.load() == mine
    # Measured with an older pool or older drivers: not applied.
    older = {**_calibrate._versions(), "strategy": _calibrate.STRATEGY_REVISION - 1}
    path.write_text(json.dumps({**mine, "versions": older}))
    assert _calibrate.load() is None
    path.write_text(json.dumps(mine))
    monkeypatch.setenv("RELUKIT_CALIBRATION", "off")
    assert _calibrate.load() is None


def test_startup_section_runs_the_scripts(monkeypatch, capsys, tmp_path):
    """--startup: the scripts run for real (a short warm-speed loop), the text and JSON say so."""
    from relukit import _bench_startup as startup

    monkeypatch.setattr(startup, "WARM_SPEED_WINDOW", 3.0)
    target = tmp_path / "startup.json"
    assert cli.main(["bench", "--startup", "--repeat", "1", "--json", str(target)]) == 0
    text = capsys.readouterr().out
    assert "relukit, empty cache" in text and "over NumPy" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    data = json.loads(target.read_text())
    assert set(data["scripts"]) == {"numpy", "relukit, empty cache", "relukit, cache filled"}
    assert all(seconds > 0 for values in data["scripts"].values() for seconds in values)
    speed = data["warm_speed"]
    assert speed["calls"] > 0 and speed["warm"] > 0 and speed["reference"] > 0
