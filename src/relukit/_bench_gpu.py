"""GPU timings: relukit's CuPy kernels against CuPy idioms, the seed code and PyTorch.

Called by ``python -m relukit bench`` and ``tools/gpu_check.py`` when a
CUDA device is usable. CuPy (and PyTorch, when it is installed with CUDA)
are imported inside :func:`gpu_rows`, so importing this module is free.

How the numbers are taken:

- ``cupyx.profiler.benchmark``: CUDA events around every call on the
  current stream (the legacy default stream, which PyTorch's default
  stream is too), warm-up calls excluded, the median reported;
- inputs rotate over several copies when one call's working set is at
  least the L2 cache, so that no call reads what the previous one left in
  L2; smaller sizes run from a warm L2, as they would in a network;
- every implementation allocates its result, as ``relukit.relu(x)`` does;
- a device-to-device ``cudaMemcpyAsync`` of one input's bytes, timed the
  same way, is the bandwidth reference (bytes read plus bytes written).
"""

from __future__ import annotations

import itertools
import math

from . import _registry

#: Rotate over this many input sets when one call's working set fills L2.
_ROTATE = 3
_WARMUP = 5


def _seed_peers(cp):
    """The seed project's CuPy code: an extra array per call, by design."""
    return {
        "relu": {"seed cupy: maximum(x, zeros)": lambda x: cp.maximum(x, cp.zeros(x.shape, x.dtype))},
        "relu_grad": {"seed cupy: greater(x, 0).astype": lambda x: cp.greater(x, 0).astype(x.dtype)},
        "relu_backward": {
            "seed cupy: dy * greater(x, 0).astype": lambda dy, x: dy * cp.greater(x, 0).astype(dy.dtype)
        },
    }


def _cupy_peers(cp):
    """The one-line CuPy idioms a user would write instead."""
    return {
        "relu": {"cupy.maximum(x, 0)": lambda x: cp.maximum(x, 0)},
        "relu_grad": {},
        "relu_backward": {"cupy: dy * (x > 0)": lambda dy, x: dy * (x > 0)},
    }


def _torch_peers():
    """PyTorch's CUDA kernels on zero-copy views, or nothing without CUDA torch."""
    try:
        import torch
    except ImportError:
        return None, {}
    if not torch.cuda.is_available():
        return None, {}
    backward = torch.ops.aten.threshold_backward
    return torch, {
        "relu": {"torch.relu": torch.relu},
        "relu_grad": {},
        "relu_backward": {"torch threshold_backward": lambda dy, x: backward(dy, x, 0)},
    }


def _inputs(cp, spec, size, dtype, copies, seed):
    rng = cp.random.default_rng(seed)
    sets = []
    for _ in range(copies):
        arrays = [
            rng.standard_normal(size, dtype=cp.float32).astype(dtype) for _ in range(spec.arity)
        ]
        sets.append(tuple(arrays))
    return sets


def _median_gpu_and_host(benchmark, call, sets, repeat):
    rotation = itertools.cycle(sets)
    result = benchmark(lambda: call(*next(rotation)), n_repeat=repeat, n_warmup=_WARMUP)
    gpu = sorted(result.gpu_times[0])
    host = sorted(result.cpu_times)
    return float(gpu[len(gpu) // 2]), float(host[len(host) // 2])


def gpu_rows(sizes, dtypes, repeat):
    """Time relu, relu_grad and relu_backward on the current CUDA device.

    Parameters
    ----------
    sizes : sequence of int
        Elements per input array.
    dtypes : sequence of str
        Floating dtypes, e.g. ``("float32",)``.
    repeat : int
        Timed calls per figure after the warm-up; the median is reported.

    Returns
    -------
    list of dict
        One dict per function, dtype, size and implementation, with the keys

        - ``function``, ``dtype``, ``size``: what was timed;
        - ``label``: ``"relukit [cupy]"`` or the peer's name;
        - ``ours``: True for relukit's row;
        - ``seconds``: median GPU time of one call (CUDA events);
        - ``host_seconds``: median host (CPU) time of one call: Python,
          dispatch and launch, not waiting for the GPU. At small sizes the
          per-call latency is the larger of this and ``seconds``;
        - ``bytes``: bytes a call must move at least (inputs read, result
          written);
        - ``gbps``: ``bytes / seconds / 1e9``;
        - ``copy_gbps``: device-to-device copy bandwidth at the same size
          and dtype (read plus written bytes per second / 1e9);
        - ``pct_of_copy``: ``100 * gbps / copy_gbps``;
        - ``relukit_speedup``: this row's ``seconds`` over relukit's (1.0
          on relukit's own row);
        - ``device``: the GPU's name;
        - ``rotated``: True when inputs rotated over copies to defeat L2.

        The first seven keys are those of ``relukit._bench.Row``.

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
    torch, torch_peers = _torch_peers()
    seeds, idioms = _seed_peers(cp), _cupy_peers(cp)
    pool = cp.get_default_memory_pool()
    rows = []
    for dtype, size in itertools.product(dtypes, sizes):
        itemsize = cp.dtype(dtype).itemsize
        copy_gbps = _copy_gbps(cp, benchmark, size * itemsize, l2, repeat)
        for spec in _registry.FUNCTIONS:
            working_set = (spec.arity + 1) * size * itemsize
            rotated = working_set >= l2
            sets = _inputs(cp, spec, size, dtype, _ROTATE if rotated else 1, seed=size)
            calls = {"relukit [cupy]": spec.func}
            calls.update(idioms[spec.name])
            calls.update(seeds[spec.name])
            call_sets = {label: sets for label in calls}
            for label, peer in torch_peers.get(spec.name, {}).items():
                calls[label] = peer
                call_sets[label] = [tuple(torch.as_tensor(a, device="cuda") for a in s) for s in sets]
            nbytes = spec.traffic * size * itemsize
            timed = {
                label: _median_gpu_and_host(benchmark, call, call_sets[label], repeat)
                for label, call in calls.items()
            }
            ours = timed["relukit [cupy]"][0]
            for label, (seconds, host_seconds) in timed.items():
                gbps = nbytes / seconds / 1e9
                rows.append(
                    {
                        "function": spec.name,
                        "dtype": dtype,
                        "size": size,
                        "label": label,
                        "seconds": seconds,
                        "gbps": gbps,
                        "ours": label == "relukit [cupy]",
                        "host_seconds": host_seconds,
                        "bytes": nbytes,
                        "copy_gbps": copy_gbps,
                        "pct_of_copy": 100 * gbps / copy_gbps,
                        "relukit_speedup": seconds / ours,
                        "device": name,
                        "rotated": rotated,
                    }
                )
            del sets, call_sets
            pool.free_all_blocks()
            if torch is not None:
                torch.cuda.empty_cache()
    return rows


def _copy_gbps(cp, benchmark, nbytes, l2, repeat):
    """Device-to-device copy bandwidth for ``nbytes``, counting read + write."""
    if nbytes == 0:
        return math.nan
    copies = _ROTATE if 2 * nbytes >= l2 else 1
    pairs = [(cp.empty(nbytes, cp.uint8), cp.empty(nbytes, cp.uint8)) for _ in range(copies)]
    for src, _ in pairs:
        src.fill(1)

    def copy(src, dst):
        dst.data.copy_from_device_async(src.data, nbytes)

    seconds, _ = _median_gpu_and_host(benchmark, copy, pairs, repeat)
    del pairs
    return 2 * nbytes / seconds / 1e9
