"""One-run GPU check: the GPU tests, then the timing table, saved as JSON.

Usage, from the repository root on a machine with an NVIDIA GPU::

    python tools/gpu_check.py [--json FILE] [--sizes 10 14 ... 28] [--dtypes ...]
                              [--repeat N] [--no-tests] [--no-slow]
    python tools/gpu_check.py --compile-only [--arch compute_90]

Needs Python with CuPy, NumPy and pytest (Numba for the tests that mix in
NumPy arrays; PyTorch with CUDA for the torch column, optional). relukit need
not be installed and no network is used: the repository's ``src/`` is put on
the path here and on the tests' ``PYTHONPATH``.

Steps:

1. say which GPU, CUDA and CuPy this is, or stop with "no GPU: <reason>"
   (exit status 2);
2. run ``tests/test_gpu.py`` with pytest (the slow tests past 2**31 elements
   too, unless ``--no-slow``), without the repository's conftest, whose
   fixtures the GPU tests do not use;
3. time relu, relu_grad and relu_backward against ``cupy.maximum``-style
   idioms, the seed's CuPy code and ``torch`` (see ``relukit._bench_gpu``),
   print the table and the issue's speed targets, and write everything as
   JSON (default ``docs/gpu_check.json``).

``--compile-only`` needs no device: it generates the CUDA source CuPy would
build for every relukit kernel, dtype and indexing variant and compiles it
with NVRTC (from CuPy's own code generator, which is private API: checked
against CuPy 14).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))

from relukit import _registry  # noqa: E402
from relukit._config import _gpu_info  # noqa: E402

#: Default sizes: every even power of two from 2**10 to 2**28 elements.
DEFAULT_EXPONENTS = tuple(range(10, 29, 2))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", default=str(ROOT / "docs" / "gpu_check.json"), help="where to write the JSON")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=DEFAULT_EXPONENTS, metavar="K", help="sizes as powers of two"
    )
    parser.add_argument("--dtypes", nargs="+", default=list(_registry.FLOAT_DTYPES), choices=_registry.FLOAT_DTYPES)
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per figure (median)")
    parser.add_argument("--no-tests", action="store_true", help="skip the pytest step")
    parser.add_argument("--no-slow", action="store_true", help="skip the slow tests past 2**31 elements")
    parser.add_argument("--compile-only", action="store_true", help="only compile every kernel with NVRTC")
    parser.add_argument("--arch", default="compute_90", help="virtual architecture for --compile-only")
    return parser.parse_args(argv)


def run_tests(no_slow):
    """pytest on tests/test_gpu.py in a fresh process; (exit status, last line)."""
    command = [sys.executable, "-m", "pytest", "tests/test_gpu.py", "-q", "--noconftest", "-p", "no:cacheprovider"]
    command += ["-m", "gpu and not slow" if no_slow else "gpu"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])))
    print("$", " ".join(command[1:]), flush=True)
    done = subprocess.run(command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    print(done.stdout[-20000:], flush=True)
    lines = [line for line in done.stdout.strip().splitlines() if line.strip()]
    return done.returncode, lines[-1] if lines else ""


def _fmt_us(seconds):
    return f"{seconds * 1e6:10.1f}"


def _ratio(group, prefix):
    row = next((r for r in group if r["label"].startswith(prefix)), None)
    return "       -" if row is None else f"{row['relukit_speedup']:7.2f}x"


def format_table(rows):
    """One line per size, dtype and function: relukit and its ratios to the peers."""
    groups = {}
    for row in rows:
        groups.setdefault((row["function"], row["dtype"], row["size"]), []).append(row)
    header = (
        f"{'size':>6s} {'dtype':8s} {'function':14s} {'GPU us':>10s} {'host us':>10s} {'GB/s':>8s} "
        f"{'% copy':>7s} {'v torch':>8s} {'v cupy':>8s} {'v seed':>8s}"
    )
    lines = [header, "-" * len(header)]
    order = sorted(groups, key=lambda k: (k[2], k[1], [s.name for s in _registry.FUNCTIONS].index(k[0])))
    for key in order:
        group = groups[key]
        ours = next(r for r in group if r["ours"])
        lines.append(
            f"2**{int(ours['size']).bit_length() - 1:<3d} {ours['dtype']:8s} {ours['function']:14s} "
            f"{_fmt_us(ours['seconds'])} {_fmt_us(ours['host_seconds'])} {ours['gbps']:8.1f} "
            f"{ours['pct_of_copy']:6.1f}% {_ratio(group, 'torch')} {_ratio(group, 'cupy')} {_ratio(group, 'seed')}"
        )
    lines.append("(v X = X's GPU time / relukit's: above 1 means relukit is faster)")
    return "\n".join(lines)


def check_targets(rows):
    """The issue's speed targets as (description, met: bool or None, detail)."""
    results = []
    by_key = {}
    for r in rows:
        by_key.setdefault((r["function"], r["dtype"], r["size"]), []).append(r)
    big = 2**28
    for function in ("relu", "relu_grad", "relu_backward"):
        group = by_key.get((function, "float32", big))
        ours = group and next(r for r in group if r["ours"])
        results.append(
            (
                f"{function} float32 2**28: >= 90% of copy bandwidth",
                None if not ours else ours["pct_of_copy"] >= 90,
                "" if not ours else f"{ours['pct_of_copy']:.1f}%",
            )
        )
    torch_rows = [r for r in rows if r["label"].startswith("torch")]
    worst = min(torch_rows, key=lambda r: r["relukit_speedup"], default=None)
    results.append(
        (
            "at least as fast as torch at every size and dtype",
            None if worst is None else worst["relukit_speedup"] >= 1,
            "" if worst is None else f"worst {worst['relukit_speedup']:.2f}x ({worst['function']} {worst['dtype']} n={worst['size']})",
        )
    )
    seed_rows = [r for r in rows if r["label"].startswith("seed") and r["size"] >= 2**24]
    worst = min(seed_rows, key=lambda r: r["relukit_speedup"], default=None)
    results.append(
        (
            ">= 2x faster than the seed's CuPy code from 2**24",
            None if worst is None else worst["relukit_speedup"] >= 2,
            "" if worst is None else f"worst {worst['relukit_speedup']:.2f}x ({worst['function']} {worst['dtype']} n={worst['size']})",
        )
    )
    small = [
        (ours, peer)
        for group in by_key.values()
        if group[0]["function"] == "relu" and group[0]["size"] <= 2**14
        for ours in group
        if ours["ours"]
        for peer in group
        if peer["label"] == "cupy.maximum(x, 0)"
    ]
    latency = [(max(o["seconds"], o["host_seconds"]), max(p["seconds"], p["host_seconds"])) for o, p in small]
    results.append(
        (
            "small arrays (<= 2**14): per-call latency no worse than cupy.maximum",
            None if not latency else all(o <= p for o, p in latency),
            "; ".join(f"{o * 1e6:.1f} us vs {p * 1e6:.1f} us" for o, p in latency),
        )
    )
    return results


def format_targets(results):
    lines = ["Targets (issue 3):"]
    for what, met, detail in results:
        verdict = "not measured" if met is None else ("met" if met else "MISSED")
        lines.append(f"  {what:70s} {verdict:12s} {detail}")
    return "\n".join(lines)


def versions():
    import numpy

    found = {"python": platform.python_version(), "numpy": numpy.__version__}
    for name in ("cupy", "torch", "numba", "pytest"):
        try:
            found[name] = __import__(name).__version__
        except ImportError:
            found[name] = "not installed"
    return found


def compile_only(arch):
    """Compile every kernel variant with NVRTC, without a device; return the count."""
    import itertools

    import cupy
    import numpy
    from cupy._core import _carray, _kernel, _scalar, core
    from cupy.cuda import compiler

    from relukit import _cupy

    options = core.assemble_cupy_compiler_options(("--device-as-default-execution-space",))
    # CuPy appends -ftz=true when it compiles; the kernels must be right under it.
    options += (f"-arch={arch}", "-ftz=true")
    include = "".join(f"#include <{h}>\n" for h in core._cupy_header_list)
    layouts = [(1, True, True), (1, False, False), (2, False, True), (3, False, False), (0, True, True)]
    floats, ints = _registry.FLOAT_DTYPES, _registry.INT_DTYPES
    count = 0
    for (function, variant), (in_params, out_params, operation) in _cupy._SOURCES.items():
        kernel = cupy.ElementwiseKernel(in_params, out_params, operation, name="probe", preamble=_cupy._PREAMBLE)
        x_dtypes = floats + ints if variant == "plain" else floats
        dy_dtypes = floats if function == "relu_backward" else (None,)
        for dy, x, (ndim, contiguous, index32) in itertools.product(dy_dtypes, x_dtypes, layouts):
            arrays = [numpy.dtype(d) for d in (dy, x) if d is not None]
            scalars = 3 if variant == "keras" else 0
            in_types = tuple(arrays) + (None,) * scalars
            out_type = (arrays[0],)
            _, _, type_map = kernel._decide_params_type(in_types, out_type)

            def info(dtype):
                return _kernel._ArgInfo(1, cupy.ndarray, dtype, ndim, contiguous, index32)

            scalar = _kernel._ArgInfo(3, _scalar.CScalar, numpy.dtype("float64"), 0, True, True)
            indexer = _kernel._ArgInfo(2, _carray.Indexer, None, ndim, True, index32)
            arginfos = tuple([info(d) for d in arrays] + [scalar] * scalars + [info(arrays[0]), indexer])
            code = _kernel._get_elementwise_kernel_code(
                arginfos, type_map, kernel.params, kernel.operation, f"relukit_{function}_{variant}", kernel.preamble
            )
            program = compiler._NVRTCProgram(include + code, "kern.cu", (), (), method="ptx")
            program.compile(options)
            count += 1
    return count


def main(argv=None):
    args = parse_args(argv)
    if args.compile_only:
        count = compile_only(args.arch)
        print(f"compiled {count} kernel variants with NVRTC for {args.arch}: all ok")
        return 0
    gpu = _gpu_info()
    if not gpu["available"]:
        print(f"no GPU: {gpu['reason']}")
        return 2
    print(
        f"{gpu['name']} (compute {gpu['compute_capability']}, {gpu['memory_gib']} GiB, "
        f"L2 {gpu['l2_cache_mib']} MiB), CUDA runtime {gpu['cuda_runtime']}, driver {gpu['cuda_driver']}, "
        f"CuPy {gpu['cupy']}",
        flush=True,
    )
    started = datetime.datetime.now(datetime.timezone.utc)
    tests = {"run": False}
    if not args.no_tests:
        status, summary = run_tests(args.no_slow)
        tests = {"run": True, "exit_status": status, "summary": summary, "slow": not args.no_slow}

    from relukit import _bench_gpu

    sizes = [2**k for k in args.sizes]
    print(f"timing {len(sizes)} sizes x {len(args.dtypes)} dtypes x 3 functions, median of {args.repeat}", flush=True)
    rows = _bench_gpu.gpu_rows(sizes, args.dtypes, args.repeat)
    targets = check_targets(rows)
    print(format_table(rows))
    print(format_targets(targets))
    record = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(["python", "tools/gpu_check.py", *(sys.argv[1:] if argv is None else argv)]),
        "gpu": gpu,
        "versions": versions(),
        "tests": tests,
        "targets": [{"target": w, "met": m, "detail": d} for w, m, d in targets],
        "rows": rows,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.json}")
    if tests.get("exit_status"):
        print(f"GPU TESTS FAILED: {tests['summary']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
