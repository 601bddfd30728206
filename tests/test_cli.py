"""``python -m relukit info`` and ``python -m relukit bench``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from relukit import __main__ as cli
from relukit import _bench


def test_info_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "relukit", "info"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for needle in ("relukit", "numba", "backends", "threads", "gpu"):
        assert needle in result.stdout


def test_bench_small(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert cli.main(["bench", "--sizes", "1e3", "2e4", "--repeat", "1", "--json", str(path)]) == 0
    printed = capsys.readouterr()
    assert "relu  n=1e+03  float32" in printed.out
    assert "np.maximum(x, 0)" in printed.out
    assert "Targets" in printed.out
    assert "[1/6]" in printed.err  # progress
    payload = json.loads(path.read_text())
    labels = {row["label"] for row in payload["rows"]}
    assert {"relukit", "relukit out=y", "relukit [numpy]", "np.maximum(x, 0)"} <= labels
    assert all(row["seconds"] > 0 for row in payload["rows"])


def test_bench_plot(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "bench.png"
    assert cli.main(["bench", "--sizes", "1e3", "--repeat", "1", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_rejects_bad_sizes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["bench", "--sizes", "0.5"])
    assert "positive whole number" in capsys.readouterr().err


def test_targets_are_computed_from_rows():
    rows = [
        _bench.Row("relu", "float32", 10**3, "relukit", 1.0, 0.0, True),
        _bench.Row("relu", "float32", 10**3, "np.maximum(x, 0)", 3.0, 0.0, False),
    ]
    results = dict((t.peer, r) for t, r in _bench.check_targets(rows) if t.size == 10**3)
    assert results["np.maximum(x, 0)"] == 3.0
    assert results["torch.relu"] is None
    assert "met" in _bench.format_targets(_bench.check_targets(rows))
