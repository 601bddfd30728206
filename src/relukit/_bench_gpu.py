"""GPU timings: every operation of the table on CuPy arrays, against CuPy and PyTorch.

Called by ``python -m relukit bench`` and ``tools/gpu_check.py`` when a
CUDA device is usable. CuPy (and PyTorch, when it is installed with CUDA)
are imported inside :func:`gpu_rows`, so importing this module is free.
The rows, the targets and their printing are those of the CPU bench
(``relukit._bench_report``, ``relukit._bench_targets``).

How the numbers are taken:

- ``cupyx.profiler.benchmark``: CUDA events around every call on the
  current stream (the legacy default stream, which PyTorch's default
  stream is too), warm-up calls excluded, the median reported;
- inputs rotate over several copies when one call's working set is at
  least the L2 cache, so that no call reads what the previous one left in
  L2; smaller sizes run from a warm L2, as they would in a network;
- each job is timed like with like, as on the CPU: allocating, ``out=y``
  and in place (``relukit.<op>(..., out=<input>)``);
- a device-to-device ``cudaMemcpyAsync`` moving the same bytes as the job
  (read plus written), timed the same way, is the bandwidth reference.
"""

from __future__ import annotations

import itertools
import math

from ._bench_report import REFERENCE, RELUKIT, Row, relukit_label
from ._bench_targets import Target
from ._ops import OPERATIONS

#: Rotate over this many input sets when one call's working set fills L2.
_ROTATE = 3
_WARMUP = 5
#: The label of the bandwidth reference row.
COPY_LABEL = "device copy of the same bytes"
#: Peers that build a temporary array on the way, as recipes often do.
TEMPORARY = "cupy-recipe"

LIBRARY_TEXT = {
    "torch": "PyTorch's CUDA kernels on the same device memory (zero-copy views)",
    TEMPORARY: "CuPy, the common recipe: an extra array per call",
}

#: How the samples are taken, for the legend.
SAMPLING = "each one call timed with CUDA events after warm-up calls"

#: The GPU speed targets (ratios: a peer's time over relukit's).
GPU_TARGETS = (
    Target(0.9, sizes=(2**28,), dtypes=("float32",), peer=COPY_LABEL, device="gpu",
           note="At least 90% of the bandwidth of a plain copy."),
    Target(1.0, library="torch", device="gpu"),
    Target(2.0, modes=("allocating",), sizes=(2**24, 2**26, 2**28), library=TEMPORARY, device="gpu"),
    Target(1.0, ("relu",), ("allocating",), (2**10, 2**12, 2**14), peer="cupy.maximum(x, 0)",
           time="latency", device="gpu",
           note="Latency is the larger of the GPU time and the host time of a call."),
)


def array_peers(xp, name: str, mode: str) -> dict:
    """``label -> (library, call)``: the idioms of array module ``xp`` for a job.

    ``name`` is an operation of the table; calls take the inputs, then
    ``out`` in the "out" mode, and overwrite their ``result_like`` input in
    place. An operation without idioms here is timed against the copy only.
    """
    m = xp.__name__
    one, temporary = m, TEMPORARY
    table = {
        ("relu", "allocating"): {
            f"{m}.maximum(x, 0)": (one, lambda x: xp.maximum(x, 0)),
            f"{m}.maximum(x, {m}.zeros_like(x))": (temporary, lambda x: xp.maximum(x, xp.zeros_like(x))),
        },
        ("relu", "out"): {f"{m}.maximum(x, 0, out=y)": (one, lambda x, out: xp.maximum(x, 0, out=out))},
        ("relu", "in_place"): {f"{m}.maximum(x, 0, out=x)": (one, lambda x: xp.maximum(x, 0, out=x))},
        ("relu_grad", "allocating"): {
            f"{m}.greater(x, 0).astype(x.dtype)": (temporary, lambda x: xp.greater(x, 0).astype(x.dtype)),
        },
        ("relu_grad", "out"): {f"{m}.greater(x, 0, out=y)": (one, lambda x, out: xp.greater(x, 0, out=out))},
        ("relu_grad", "in_place"): {f"{m}.greater(x, 0, out=x)": (one, lambda x: xp.greater(x, 0, out=x))},
        ("relu_backward", "allocating"): {
            f"{m}.where(x > 0, dy, 0)": (one, lambda dy, x: xp.where(x > 0, dy, 0)),
            "dy * (x > 0)": (temporary, lambda dy, x: dy * (x > 0)),
        },
        ("relu_backward", "out"): {
            f"{m}.multiply(dy, x > 0, out=y)": (temporary, lambda dy, x, out: xp.multiply(dy, x > 0, out=out)),
        },
        ("relu_backward", "in_place"): {
            f"{m}.multiply(dy, x > 0, out=dy)": (temporary, lambda dy, x: xp.multiply(dy, x > 0, out=dy)),
        },
    }
    return table.get((name, mode), {})


def torch_peers(torch, name: str, mode: str) -> dict:
    """``label -> (library, call)``: PyTorch's CUDA kernels for a job, on tensors."""
    backward = torch.ops.aten.threshold_backward
    table = {
        ("relu", "allocating"): {"torch.relu(x)": torch.relu},
        ("relu", "out"): {"torch.clamp_min(x, 0, out=y)": lambda x, out: torch.clamp_min(x, 0, out=out)},
        ("relu", "in_place"): {"torch.relu_(x)": torch.relu_},
        ("relu_grad", "allocating"): {"(t > 0).to(t.dtype)": lambda x: (x > 0).to(x.dtype)},
        ("relu_backward", "allocating"): {"torch threshold_backward": lambda dy, x: backward(dy, x, 0)},
        ("relu_backward", "out"): {
            "torch threshold_backward(out=y)": lambda dy, x, out: backward.grad_input(dy, x, 0, grad_input=out)
        },
    }
    return {label: ("torch", call) for label, call in table.get((name, mode), {}).items()}


def _cuda_torch():
    """PyTorch when it can compute on CUDA, else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def _relukit_call(op, mode: str):
    import relukit

    func = getattr(relukit, op.name)
    target = op.inputs.index(op.result_like)
    if mode == "allocating":
        return func
    if mode == "out":
        return lambda *a: func(*a[:-1], out=a[-1])
    return lambda *a: func(*a, out=a[target])


def _implementations(cp, torch, op, mode: str):
    """``(label, library, call, convert)`` for relukit and each peer of a job.

    ``convert`` turns a CuPy array into what the call takes (None: as is).
    """
    found = [(relukit_label(op, mode), RELUKIT, _relukit_call(op, mode), None)]
    for label, (library, call) in array_peers(cp, op.name, mode).items():
        found.append((label, library, call, None))
    if torch is not None:
        def convert(a):
            return torch.as_tensor(a, device="cuda")

        for label, (library, call) in torch_peers(torch, op.name, mode).items():
            found.append((label, library, call, convert))
    return found


def _argument_sets(op, mode: str, sets, out, convert=None):
    """Per input set, the arguments of one call in ``mode`` (own copies in place)."""
    target = op.inputs.index(op.result_like)
    result = []
    for inputs in sets:
        if mode == "allocating":
            args = inputs
        elif mode == "out":
            args = (*inputs, out)
        else:
            own = list(inputs)
            own[target] = inputs[target].copy()
            args = tuple(own)
        result.append(args if convert is None else tuple(convert(a) for a in args))
    return result


def _inputs(cp, op, size, dtype, copies, seed):
    rng = cp.random.default_rng(seed)

    def make(offset):
        return rng.standard_normal(size, dtype=cp.float32).astype(dtype)

    return [op.make_inputs(make) for _ in range(copies)]


def _samples(benchmark, call, sets, repeat):
    """(GPU seconds of every call, median host seconds)."""
    rotation = itertools.cycle(sets)
    result = benchmark(lambda: call(*next(rotation)), n_repeat=repeat, n_warmup=_WARMUP)
    host = sorted(result.cpu_times)
    return tuple(float(t) for t in result.gpu_times[0]), float(host[len(host) // 2])


def gpu_rows(sizes, dtypes, repeat, modes=("allocating",), operations=OPERATIONS):
    """Time every operation of the table on the current CUDA device.

    Parameters
    ----------
    sizes : sequence of int
        Elements per input array.
    dtypes : sequence of str
        Floating dtypes, e.g. ``("float32",)``.
    repeat : int
        Timed calls per figure after the warm-up; the median is reported.
    modes : sequence of str
        Any of ``"allocating"``, ``"out"`` and ``"in_place"``.
    operations : sequence of Operation
        By default the whole table.

    Returns
    -------
    list of relukit._bench_report.Row
        With ``device="gpu"``, ``seconds`` the median GPU time of one call
        (CUDA events), ``samples`` every call's GPU time, and in ``extra``:

        - ``host_seconds``: median host time of one call (Python, dispatch
          and launch, not waiting for the GPU);
        - ``latency``: the larger of ``seconds`` and ``host_seconds``, what
          a small call costs;
        - ``bytes``: bytes a call must move at least;
        - ``copy_gbps``, ``pct_of_copy``: a device copy of as many bytes,
          and this row's bandwidth as a percentage of it;
        - ``relukit_speedup``: this row's time over relukit's;
        - ``gpu``: the device's name; ``rotated``: whether inputs rotated
          over copies to defeat L2.

    Raises
    ------
    ImportError
        If CuPy is not installed.
    """
    import cupy as cp
    from cupyx.profiler import benchmark

    device = cp.cuda.Device()
    props = cp.cuda.runtime.getDeviceProperties(device.id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    l2 = props["l2CacheSize"]
    torch = _cuda_torch()
    pool = cp.get_default_memory_pool()
    copies = {}
    rows = []
    for op, dtype, size in itertools.product(operations, dtypes, sizes):
        itemsize = cp.dtype(dtype).itemsize
        nbytes = op.traffic * size * itemsize
        if nbytes not in copies:
            copies[nbytes] = _copy_samples(cp, benchmark, nbytes // 2, l2, repeat)
        rotated = (op.arity + 1) * size * itemsize >= l2
        sets = _inputs(cp, op, size, dtype, _ROTATE if rotated else 1, seed=size)
        out = cp.empty_like(sets[0][op.inputs.index(op.result_like)])
        for mode in modes:
            timed = {}
            for label, library, call, convert in _implementations(cp, torch, op, mode):
                arguments = _argument_sets(op, mode, sets, out, convert)
                timed[label] = (library, _samples(benchmark, call, arguments, repeat))
                del arguments
            timed[COPY_LABEL] = (REFERENCE, copies[nbytes])
            rows += _rows(op, mode, dtype, size, timed, nbytes, copies[nbytes], name, rotated)
            pool.free_all_blocks()
        del sets, out
        pool.free_all_blocks()
        if torch is not None:
            torch.cuda.empty_cache()
    return rows


def _rows(op, mode, dtype, size, timed, nbytes, copy, gpu, rotated):
    def median(samples):
        ordered = sorted(samples)
        return ordered[len(ordered) // 2]

    copy_gbps = nbytes / median(copy[0]) / 1e9
    ours = median(timed[relukit_label(op, mode)][1][0])
    rows = []
    for label, (library, (samples, host)) in timed.items():
        seconds = median(samples)
        gbps = nbytes / seconds / 1e9
        extra = {
            "host_seconds": host,
            "latency": max(seconds, host),
            "bytes": nbytes,
            "copy_gbps": copy_gbps,
            "pct_of_copy": 100 * gbps / copy_gbps,
            "relukit_speedup": seconds / ours,
            "gpu": gpu,
            "rotated": rotated,
        }
        rows.append(
            Row(op.name, mode, dtype, size, label, library, library == RELUKIT, seconds, gbps, samples, "gpu", extra)
        )
    return rows


def _copy_samples(cp, benchmark, nbytes, l2, repeat):
    """Samples of a device-to-device copy of ``nbytes`` (read + written: twice that)."""
    if nbytes == 0:
        return (math.nan,), math.nan
    copies = _ROTATE if 2 * nbytes >= l2 else 1
    pairs = [(cp.empty(nbytes, cp.uint8), cp.empty(nbytes, cp.uint8)) for _ in range(copies)]
    for src, _ in pairs:
        src.fill(1)

    def copy(src, dst):
        dst.data.copy_from_device_async(src.data, nbytes)

    found = _samples(benchmark, copy, pairs, repeat)
    del pairs
    return found
