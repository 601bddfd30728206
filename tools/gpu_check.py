"""One-run GPU check: the GPU tests, then the timing table, saved as JSON.

Usage, from the repository root on a machine with an NVIDIA GPU::

    python tools/gpu_check.py [--json FILE] [--sizes 10 14 20 24 28] [--dtypes ...]
                              [--modes ...] [--repeat N] [--no-tests] [--no-slow]
    python tools/gpu_check.py --compile-only [--arch sm_75 sm_90]

Needs Python with CuPy, NumPy and pytest (Numba for the tests that mix in
NumPy arrays; PyTorch with CUDA for the torch rows, optional). relukit need
not be installed and no network is used: the repository's ``src/`` is put on
the path here and on the tests' ``PYTHONPATH``.

Steps:

1. say which GPU, CUDA and CuPy this is, or stop with "no GPU: <reason>"
   (exit status 2);
2. run ``tests/test_gpu.py`` with pytest (the slow tests past 2**31 elements
   too, unless ``--no-slow``), without the repository's conftest, whose
   fixtures the GPU tests do not use;
3. time every operation of relukit's table (``relukit._ops``) in every mode
   (allocating, ``out=y``, in place) against CuPy's idioms, CuPy recipes
   that make a temporary array, and ``torch`` (see ``relukit._bench_gpu``),
   print the table and the GPU speed targets
   (``relukit._bench_gpu.GPU_TARGETS``) with the CPU bench's formatting, and
   write everything as JSON (default ``docs/gpu_check.json``).

``--compile-only`` needs no device and no CUDA toolkit, only the
``cuda-compile`` extra (CuPy's and NVIDIA's NVRTC wheels): it generates the
CUDA source CuPy would build for every relukit kernel, dtype and indexing
variant (from CuPy's own code generator, which is private API: checked
against CuPy 14), compiles each to a cubin with NVRTC for every ``--arch``,
prints one line per kernel and every failing build's log, and exits with
status 1 if any build failed. CI runs it (``.ci/steps/25-cuda-compile.sh``).
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

from relukit import _bench_report as report  # noqa: E402
from relukit import _bench_targets as targets  # noqa: E402
from relukit._config import _gpu_info  # noqa: E402
from relukit._ops import BY_NAME, FLOAT_DTYPES, INT_DTYPES, OPERATIONS  # noqa: E402

#: Default sizes, as powers of two: the ones the GPU targets are checked at
#: (latency to 2**14, temporaries from 2**24, bandwidth at 2**28) and 2**20
#: between. Every operation of the table is timed in every mode and dtype,
#: so each size costs (operations x dtypes x modes) timings; with
#: the tests' kernel builds the whole run has to fit a GPU session of about
#: ten minutes. ``--sizes 10 12 ... 28`` gives the full sweep.
DEFAULT_EXPONENTS = (10, 14, 20, 24, 28)
#: Architectures --compile-only builds for: the oldest CUDA 13 still
#: supports (Turing) and Hopper, the GPU the device checks run on.
COMPILE_ARCHS = ("sm_75", "sm_90")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", default=str(ROOT / "docs" / "gpu_check.json"), help="where to write the JSON")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=DEFAULT_EXPONENTS, metavar="K", help="sizes as powers of two"
    )
    parser.add_argument("--dtypes", nargs="+", default=list(FLOAT_DTYPES), choices=FLOAT_DTYPES, metavar="D",
                        help=f"dtypes to time, of {', '.join(FLOAT_DTYPES)} (default: all)")
    parser.add_argument("--modes", nargs="+", default=list(report.MODES), choices=report.MODES, metavar="M",
                        help=f"ways of calling to time, of {', '.join(report.MODES)} (default: all)")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per figure (median)")
    parser.add_argument("--no-tests", action="store_true", help="skip the pytest step")
    parser.add_argument("--no-slow", action="store_true", help="skip the slow tests past 2**31 elements")
    parser.add_argument("--compile-only", action="store_true", help="only compile every kernel with NVRTC")
    parser.add_argument("--arch", nargs="+", default=list(COMPILE_ARCHS), metavar="SM",
                        help=f"GPU architectures for --compile-only (default: {' '.join(COMPILE_ARCHS)})")
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


def check_targets(rows):
    """The GPU targets (``relukit._bench_gpu.GPU_TARGETS``) checked against ``rows``."""
    from relukit import _bench_gpu

    hints = targets.Hints(
        size=lambda sizes: "needs --sizes " + " ".join(str(n.bit_length() - 1) for n in sizes),
        dtype=lambda d: f"needs --dtypes {d}",
    )

    def peer_hint(target, wanted):
        if "torch" in wanted:
            return "needs PyTorch with CUDA"
        return None

    names = [op.name for op in OPERATIONS]
    return targets.check_targets(rows, _bench_gpu.GPU_TARGETS, names, False, hints, peer_hint)


def versions():
    import numpy

    found = {"python": platform.python_version(), "numpy": numpy.__version__}
    for name in ("cupy", "torch", "numba", "pytest"):
        try:
            found[name] = __import__(name).__version__
        except ImportError:
            found[name] = "not installed"
    return found


def kernel_cases(name, variant):
    """``[(label, function name, source)]``: every build of one kernel that CuPy can make.

    One case per dtype combination the operation accepts and per indexing
    layout below, each the exact source CuPy's ``ElementwiseKernel``
    generates for it (from CuPy's own code generator, private API).
    """
    import itertools

    import cupy
    import numpy
    from cupy._core import _carray, _kernel, _scalar

    from relukit import _cupy

    op = BY_NAME[name]
    in_params, out_params, operation = _cupy.SOURCES[name, variant]
    kernel = cupy.ElementwiseKernel(in_params, out_params, operation, name="probe", preamble=_cupy._PREAMBLE)
    integers = INT_DTYPES if op.variants[variant].int_ok else ()
    choices = [FLOAT_DTYPES + (integers if input_ == "x" else ()) for input_ in op.inputs]
    scalars = len(in_params.split(",")) - op.arity
    result = op.inputs.index(op.result_like)
    cases = []
    for *dtypes, layout in itertools.product(*choices, LAYOUTS):
        ndim, contiguous, index32 = layout
        arrays = [numpy.dtype(d) for d in dtypes]
        _, _, type_map = kernel._decide_params_type(tuple(arrays) + (None,) * scalars, (arrays[result],))

        def info(dtype):
            return _kernel._ArgInfo(1, cupy.ndarray, dtype, ndim, contiguous, index32)

        scalar = _kernel._ArgInfo(3, _scalar.CScalar, numpy.dtype("float64"), 0, True, True)
        indexer = _kernel._ArgInfo(2, _carray.Indexer, None, ndim, True, index32)
        arginfos = tuple([info(d) for d in arrays] + [scalar] * scalars + [info(arrays[result]), indexer])
        function = f"relukit_{name}_{variant}_{len(cases)}"
        code = _kernel._get_elementwise_kernel_code(
            arginfos, type_map, kernel.params, kernel.operation, function, kernel.preamble
        )
        label = "/".join(dtypes) + f" {ndim}-d{' contiguous' if contiguous else ''} {32 if index32 else 64}-bit index"
        cases.append((label, function, code))
    return cases


#: Indexing layouts CuPy specializes a kernel for: (ndim, contiguous, 32-bit
#: index). 0-d, flat contiguous and strided 1-d to 3-d, both index widths.
LAYOUTS = ((1, True, True), (1, False, False), (2, False, True), (3, False, False), (0, True, True))


def _nvrtc_build(source, arch):
    """NVRTC's log if ``source`` (with CuPy's headers) fails to build for ``arch``, else None."""
    from cupy._core import core
    from cupy.cuda import compiler

    options = core.assemble_cupy_compiler_options(("--device-as-default-execution-space",))
    # CuPy appends -ftz=true when it compiles; the kernels must be right under it.
    options += ("-ftz=true", f"-arch={arch}")
    # The headers CuPy puts before every elementwise kernel; float16.cuh is
    # included by the generated code too, and must be seen at file scope
    # first for its include guard to keep it out of the namespaces below.
    include = "".join(f"#include <{h}>\n" for h in [*core._cupy_header_list, "cupy/float16.cuh"])
    # A cubin, as CuPy builds on a device: unlike PTX, it also assembles the
    # preamble's inline PTX, whose mistakes NVRTC's front end does not see.
    program = compiler._NVRTCProgram(include + source, "kern.cu", (), (), method="cubin")
    try:
        program.compile(options)
    except compiler.CompileException as error:
        return str(error)
    return None


def compile_kernel(name, variant, arch):
    """Build every case of one kernel for ``arch``: ``(cases, [(case, NVRTC log)])``.

    The cases are compiled as one translation unit, each in a namespace of
    its own (its ``typedef``s of ``T``/``D`` and its copy of the preamble
    would clash otherwise) under a distinct ``extern "C"`` name, so NVRTC
    parses CuPy's headers once per kernel rather than once per case. Should
    the unit fail, each case is compiled alone, as CuPy would, to name the
    ones that fail.
    """
    cases = kernel_cases(name, variant)
    unit = "".join(f"namespace relukit_case_{i} {{\n{code}\n}}\n" for i, (_, _, code) in enumerate(cases))
    if _nvrtc_build(unit, arch) is None:
        return len(cases), []
    failed = [(label, _nvrtc_build(code, arch)) for label, _, code in cases]
    return len(cases), [(label, log) for label, log in failed if log is not None]


def compile_only(archs):
    """Compile every kernel case for every arch with NVRTC, without a device.

    Prints one line per kernel and returns ``(compiled, failures)``, with
    ``failures`` a list of ``(kernel, case, arch, NVRTC log)``. The kernels
    are spread over one process per CPU: NVRTC's code generation, not the
    parsing, is most of the time.
    """
    from concurrent.futures import ProcessPoolExecutor

    from relukit import _cupy

    compiled, failures = 0, []
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        jobs = {
            key: [pool.submit(compile_kernel, *key, arch) for arch in archs] for key in _cupy.SOURCES
        }
        for (name, variant), futures in jobs.items():
            kernel, total, bad = f"{name}/{variant}", 0, 0
            for arch, future in zip(archs, futures):
                cases, failed = future.result()
                total += cases
                bad += len(failed)
                failures += [(kernel, label, arch, log) for label, log in failed]
            compiled += total - bad
            print(f"{kernel:28} {total - bad:3} of {total} ok ({total // len(archs)} dtype x layout cases"
                  f" x {len(archs)} archs)", flush=True)
    return compiled, failures


def main(argv=None):
    args = parse_args(argv)
    if args.compile_only:
        compiled, failures = compile_only(args.arch)
        archs = ", ".join(args.arch)
        for kernel, case, arch, log in failures:
            print(f"\nFAILED {kernel} [{case}] for {arch}:\n{log}")
        if failures:
            print(f"\n{len(failures)} kernel builds FAILED, {compiled} compiled, with NVRTC for {archs}")
            return 1
        print(f"compiled {compiled} kernel builds with NVRTC for {archs}: all ok")
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
    print(
        f"timing {len(sizes)} sizes x {len(args.dtypes)} dtypes x {len(OPERATIONS)} operations "
        f"x {len(args.modes)} modes, median of {args.repeat}",
        flush=True,
    )
    rows = _bench_gpu.gpu_rows(sizes, args.dtypes, args.repeat, modes=args.modes)
    checks = check_targets(rows)
    print(report.format_legend(rows, args.repeat, _bench_gpu.LIBRARY_TEXT, _bench_gpu.SAMPLING))
    print(report.format_table(rows))
    print(targets.format_targets(checks, "GPU targets"))
    disturbed = report.format_disturbances(rows, mention_busy=False)
    if disturbed:
        print(disturbed)
    record = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(["python", "tools/gpu_check.py", *(sys.argv[1:] if argv is None else argv)]),
        "gpu": gpu,
        "versions": versions(),
        "tests": tests,
        "targets": targets.targets_json(checks),
        "rows": [row.as_json() for row in rows],
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
