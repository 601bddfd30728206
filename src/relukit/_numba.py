"""The Numba CPU backend: parallel, in place, streaming where it pays.

``relukit._api`` checks arguments, allocates ``out`` and settles overlap
before it calls :func:`run`. This module picks the view of the data a
driver runs on (flat when every operand is contiguous in the same order,
chunks of a buffered ``np.nditer`` otherwise, which also widens float16),
how to write ``out`` (see ``relukit._numba_drivers``) and whether to use the
thread pool. Drivers are compiled per operation, variant, write mode and
serial or parallel, on first use, so a call compiles only what it runs.

Threads: large calls are cut into chunks that relukit's own pool
(``relukit._pool``) and the calling thread claim as they go, so a core
that another process keeps busy never stalls a call. The drivers are
serial Numba functions that release the GIL; Numba's ``parallel=True``
and its threading layers are not used (its fork-join regions wait for
their slowest thread, its ``workqueue`` layer aborts the process on
concurrent use, and GNU OpenMP aborts a forked child).
"""

from __future__ import annotations

import hashlib
import threading

import numba
import numpy as np

from . import _background, _calibrate, _fastpath, _team
from . import _numba_drivers as D
from ._ops import OPERATIONS
from ._pool import Pool, default_threads

xp = np

#: Below this many bytes of output, handing chunks to the thread pool costs
#: more than it saves: measured per machine by ``relukit._calibrate``, for
#: the flat drivers' compiled jobs (``relukit._team``) ...
PARALLEL_MIN_BYTES = _calibrate.DEFAULT_PARALLEL_MIN_BYTES
#: ... and for jobs of Python tasks (PReLU's channel layouts, and every
#: pooled call where compiled jobs are not available), which cost more.
TASKS_MIN_BYTES = _calibrate.DEFAULT_PARALLEL_MIN_BYTES
#: Whether the flat drivers' pooled calls are compiled jobs (calibration
#: switches it off to time the other kind).
COMPILED_JOBS = _team.AVAILABLE
#: From this many bytes, stores into an existing ``out`` bypass the cache
#: (non-temporal), where ``relukit._calibrate`` found that this pays on the
#: running CPU; never otherwise (it lost a third on one Intel Xeon VM).
STREAM_MIN_BYTES = _NEVER = 1 << 62
#: The settings measured on this machine, or None.
CALIBRATION = None


def use_calibration(settings) -> None:
    """Apply ``settings`` from ``relukit._calibrate`` (None: the defaults) to this process."""
    global CALIBRATION, PARALLEL_MIN_BYTES, TASKS_MIN_BYTES, STREAM_MIN_BYTES
    CALIBRATION = settings
    if settings is None:
        PARALLEL_MIN_BYTES = TASKS_MIN_BYTES = _calibrate.DEFAULT_PARALLEL_MIN_BYTES
        STREAM_MIN_BYTES = _NEVER
    else:
        PARALLEL_MIN_BYTES = settings["parallel_min_bytes"]
        TASKS_MIN_BYTES = settings["tasks_min_bytes"]
        STREAM_MIN_BYTES = _calibrate.STREAMING_FROM_BYTES if settings["stream"] else _NEVER


use_calibration(_calibrate.load())
#: Elements per chunk of the ``np.nditer`` path for odd layouts and float16.
_NDITER_BUFFER = 8192

#: Each chunk of a pooled call writes at least this many bytes, so that
#: handing out a chunk (about a microsecond as a Python task, less in a
#: compiled job) stays small beside the chunk itself.
CHUNK_MIN_BYTES = 1 << 18
#: At most this many chunks per thread: large calls get larger chunks.
_CHUNKS_PER_THREAD = 32

_pool = Pool(default_threads())


def chunking(nbytes: int, itemsize: int, tasks: bool = False):
    """``(elements per chunk, chunks)`` for an output of ``nbytes``; 1 chunk means serial.

    ``tasks``: for a job of Python tasks rather than a compiled job.
    """
    size = nbytes // itemsize
    tasks = tasks or not COMPILED_JOBS
    if nbytes < (TASKS_MIN_BYTES if tasks else PARALLEL_MIN_BYTES) or _pool.threads < 2 or size == 0:
        return size, 1
    chunk_bytes = max(CHUNK_MIN_BYTES, nbytes // (_CHUNKS_PER_THREAD * _pool.threads))
    # Whole cache lines per chunk: streaming stores stay aligned and no two
    # threads write one line.
    step = max(1, -(-chunk_bytes // 64) * 64 // itemsize)
    return step, -(-size // step)


# --- compile units -------------------------------------------------------------


class Drivers:
    """The compiled drivers of one kernel body, each compiled on first use."""

    def __init__(self, prefix: str, element, arity: int, term=None):
        self.prefix = prefix
        self._kernel = D.inline_kernel(element)
        self._hash = D.code_hash(element)
        # A channel gradient's term, for the drivers that sum it ("*_sum").
        self._term = None if term is None else D.inline_kernel(term)
        if term is not None:
            self._hash = D.code_hash(term)[:6] + self._hash[:6]
        self._kind = ("unary", "binary", "ternary")[arity - 1]
        # The driver that writes over the input the result is like: x for a
        # unary operation, dy for a backward pass.
        self.same_mode = "in_place" if arity == 1 else "out_is_dy"
        self._units: dict = {}  # mode -> driver
        self._small: dict = {}  # (job, scalars) -> small-call kernel
        self._chunks: dict = {}  # (mode, dtypes) -> chunk function
        self._lock = threading.RLock()
        # Argument kinds each driver is known to be compiled for.
        self._ready: set = set()

    def _cached(self, table: dict, key, build, *args):
        """``table[key]``, built by ``build(*args)`` the first time, under the lock."""
        unit = table.get(key)
        if unit is None:
            with self._lock:
                unit = table.get(key) or build(*args)
                table[key] = unit
        return unit

    def __getitem__(self, mode: str):
        return self._cached(self._units, mode, self._build, mode)

    def ready(self, mode: str, arrays, scalars, tail=(0, 1)):
        """The ``mode`` driver, compiled for ``arrays`` (as the call passes them).

        With background compiling on (see ``relukit._background``), raises
        :class:`~relukit._background.NotReady` instead of compiling, after
        asking the background thread to compile the driver for arrays of the
        same dtypes, dimensions and writeability (what Numba's signature
        depends on) by calling it on one element of each, with ``tail``
        after the scalars (a range of one element; for a ``claimed_*``
        loop, no chunk to claim).
        """
        driver = self[mode]
        # What Numba's signature depends on (operands are always native and
        # aligned here). Attributes NumPy computes in C: this runs per call.
        kinds = tuple([(a.dtype.char, a.ndim, a.flags.writeable) for a in arrays])
        key = (self.prefix, mode, kinds)
        if key in self._ready:
            return driver
        # With background compiling off, the caller compiles it now.
        if _background.enabled() and not _background.succeeded(key):
            samples = [_sample(a) for a in arrays]
            label = f"{self.prefix}/{mode}/" + ", ".join(
                f"{a.dtype.name} {a.ndim}d{'' if a.flags.writeable else ' read-only'}" for a in arrays
            )
            _background.require(key, lambda: driver(*samples, *scalars, *tail), label)
        self._ready.add(key)
        return driver

    def built(self) -> list:
        """Names of the drivers built so far (a small-call kernel as ``small_<job>``)."""
        return sorted({*self._units, *(f"small_{job}" for job, _ in list(self._small))})

    def small(self, job: str, scalars):
        """The small-call kernel (``relukit._fastpath``) for ``job`` with ``scalars`` compiled in.

        ``job`` is "new", "into" (a separate ``out``: the kernel itself
        compares its shape with x's and checks that it overlaps no input)
        or "same" (``out`` is the input the result is like). Constants
        rather than arguments: unboxing three floats was about 0.15 us of a
        1e3 call.
        """
        return self._cached(self._small, (job, scalars), self._build_small, job, scalars)

    def chunk(self, mode: str, dtypes):
        """The C-callable chunk function (``relukit._team``) of the ``mode``
        driver for arrays of ``dtypes`` (inputs, then out)."""
        return self._cached(self._chunks, (mode, dtypes), self._build_chunk, mode, dtypes)

    def _build_chunk(self, mode: str, dtypes):
        bindings = {f"D{k}": numba.from_dtype(np.dtype(d)) for k, d in enumerate(dtypes)}
        name = f"{self.prefix}_chunk_{mode}_{'_'.join(dtypes)}_{self._hash}"
        template = getattr(D, f"{self._kind}_chunk")
        return D.specialise_chunk(
            template, name, _team.CHUNK_SIGNATURE, body=self[mode], **bindings
        )

    def _build_small(self, job: str, scalars):
        body = self[self.same_mode if job == "same" else "direct"]
        template = getattr(D, f"{self._kind}_small" + ("_into" if job == "into" else ""))
        # The scalars are in the name: Numba's cache key ignores globals.
        digest = hashlib.sha256(repr(scalars).encode()).hexdigest()[:8]
        name = f"{self.prefix}_small_{job}_{self._hash}_{digest}"
        a, b, c = scalars
        return D.specialise(template, name, body=body, A=a, B=b, C=c)

    def _build(self, mode: str):
        name = f"{self.prefix}_{mode}_{self._hash}"
        if mode.startswith("claimed_"):
            # A pooled call's loop around the driver of the mode it names.
            body = self[mode.removeprefix("claimed_")]
            return D.specialise(getattr(D, f"{self._kind}_claimed"), name, body=body)
        template = getattr(D, f"{self._kind}_{mode}")
        if mode.endswith("_sum"):
            options = {"fastmath": {"reassoc"}}
            return D.specialise(template, name, options, kernel=self._kernel, term=self._term)
        return D.specialise(template, name, kernel=self._kernel)


def _prepared(key, build):
    """``build()`` now, or, with background compiling on, once the background
    thread has run it (raising :class:`~relukit._background.NotReady` until then).

    ``build`` compiles for an explicit signature; run again after the
    background thread has, it returns the compiled code at once.
    """
    if _background.enabled() and not _background.succeeded(key):
        _background.require(key, build)
    return build()


def _sample(a):
    """One element like ``a`` for Numba's typing: dtype, dimensions, writeability."""
    sample = np.zeros((1,) * a.ndim, a.dtype)
    sample.flags.writeable = a.flags.writeable
    return sample


_drivers: dict = {}


def drivers(op, variant: str, bits: bool = False) -> Drivers:
    """The drivers of ``op``'s ``variant`` (its float16 bit-pattern body if ``bits``)."""
    key = (op.name, variant, bits)
    found = _drivers.get(key)
    if found is None:
        chosen = op.variants[variant]
        element = chosen.cpu_f16_bits if bits else chosen.cpu
        prefix = f"{op.name}_{variant}{'_f16bits' if bits else ''}"
        term = op.channel_gradient.cpu if op.channel_gradient else None
        found = _drivers.setdefault(key, Drivers(prefix, element, op.arity, term))
    return found


# --- running -------------------------------------------------------------------


def _run_flat(units: Drivers, mode: str, arrays, scalars, entry=None):
    """Run the ``mode`` driver over flat ``arrays``.

    ``entry``, if given, returns the driver's compiled entry point, to
    call instead of the dispatcher.
    """
    step, chunks = chunking(arrays[-1].nbytes, arrays[-1].itemsize)
    if chunks > 1 and COMPILED_JOBS:
        job = _pooled_job(units, mode, arrays)
        if job is not None and _pool.run_compiled(job[0], arrays, job[1], scalars, step, chunks):
            return
        # Being compiled, or the pool is busy: serially.
        driver = units.ready(mode, arrays, scalars) if entry is None else entry()
        driver(*arrays, *scalars, 0, arrays[-1].size)
        return
    loop = _claiming_loop(units, mode, arrays, scalars) if chunks > 1 else None
    driver = units.ready(mode, arrays, scalars) if entry is None else entry()
    if loop is not None:
        claims = np.array([0, chunks], np.int64)

        def share(_):
            loop(*arrays, *scalars, claims, step)

        # One share per thread: each claims chunks until none is left, and
        # the caller runs the share of a worker that has not woken.
        if _pool.run(share, _pool.threads):
            return
    driver(*arrays, *scalars, 0, arrays[-1].size)


#: Sample trailing arguments (claims, step) of a ``claimed_*`` loop, from
#: which its signature is taken. Shared, though not constant: the
#: background thread compiles a loop by calling it once with these, which
#: adds one to ``claims[0]``; ``claims[1]``, the number of chunks, stays 0,
#: so no such call ever computes a chunk.
_CLAIMED_TAIL = (np.zeros(2, np.int64), 1)


#: ``(team entry point, chunk function address)`` per driver and kinds of arrays.
_pooled_jobs: dict = {}


def _pooled_job(units: Drivers, mode: str, arrays):
    """``(relukit._team.run's entry point, chunk function address)`` for a
    pooled call, or None while either is being compiled (the call then runs
    serially)."""
    key = (units.prefix, mode, *[(a.dtype, a.flags.writeable) for a in arrays])
    job = _pooled_jobs.get(key)
    if job is None:
        dtypes = tuple([a.dtype.name for a in arrays])
        kinds = tuple([(name, a.flags.writeable) for name, a in zip(dtypes, arrays)])
        # Both asked for before either is awaited, so that the background
        # thread compiles them in one go.
        parts = []
        for part_key, build in (
            ((units.prefix, "chunk", mode, dtypes), lambda: units.chunk(mode, dtypes).address),
            (("team", kinds), lambda: _team_entry(arrays)),
        ):
            try:
                parts.append(_prepared(part_key, build))
            except _background.NotReady:
                pass
        if len(parts) < 2:
            return None
        address, entry = parts
        job = _pooled_jobs[key] = (entry, address)
    return job


def _team_entry(arrays):
    """``relukit._team.run``'s entry point for arrays like ``arrays`` (padded to four)."""
    slot, scalar = numba.types.int64[::1], numba.types.float64
    array_types = tuple(numba.typeof(a) for a in _team.padded(arrays))
    index = numba.types.int64
    return _team.run.compile(
        (slot, scalar[::1], *array_types, index, scalar, scalar, scalar, index, index, index)
    )


def _claiming_loop(units: Drivers, mode: str, arrays, scalars):
    """The ``claimed_<mode>`` loop for ``arrays``, or None while it is being compiled."""
    try:
        return units.ready("claimed_" + mode, arrays, scalars, tail=_CLAIMED_TAIL)
    except _background.NotReady:
        return None  # the call runs serially meanwhile


def _is_f16(a) -> bool:
    return a.dtype.kind == "f" and a.itemsize == 2


def _bits(a):
    """float16 as its uint16 bit pattern, in the same byte order."""
    if _is_f16(a):
        return a.view(np.dtype(np.uint16).newbyteorder(a.dtype.byteorder))
    return a


def _flat(arrays):
    """1-D views of arrays laid out alike in memory, or None."""
    for a in arrays:
        if not (a.dtype.isnative and a.flags.aligned):
            return None
    if all([a.flags.c_contiguous for a in arrays]):
        order = "C"
    elif all([a.flags.f_contiguous for a in arrays]):
        order = "F"
    else:
        return None
    if arrays[0].ndim == 1:
        return arrays
    return [a.reshape(-1, order=order) for a in arrays]


def _streams(nbytes: int) -> bool:
    """Whether stores into an existing, separate ``out`` of ``nbytes`` bypass the cache."""
    # Read per call: tests and calibrate change the threshold.
    return nbytes >= STREAM_MIN_BYTES


def _write_mode(arity: int, flat, fresh: bool) -> str:
    out = flat[-1]
    if not fresh:
        for index, a in enumerate(flat[:-1]):
            if a.ctypes.data == out.ctypes.data:
                if arity == 1:
                    return "in_place"
                return "out_is_dy" if index == 0 else "out_is_x"
        # Streaming stores pay off into memory that exists already; into
        # pages just allocated they lose (the kernel zeroes each page into
        # the cache on first touch, and the stores then miss it).
        if _streams(out.nbytes):
            return "streamed"
    return "direct"


def run(op, variant: str, inputs, out, scalars, fresh: bool = False):
    """Write ``op`` (``variant``) of ``inputs`` into ``out`` and return ``out``."""
    arrays = [*inputs, out]
    has_f16 = any(_is_f16(a) for a in arrays)
    # The bit-pattern bodies test x's bits; any other float16 operand (dy,
    # out) is only moved, so it may travel as bits too.
    bits = _is_f16(inputs[-1]) and op.variants[variant].cpu_f16_bits is not None
    units = drivers(op, variant, bits)
    if bits:
        arrays = [_bits(a) for a in arrays]
    if op.channel_inputs:
        channel = None if has_f16 else _channel_views(op, arrays)
        if channel is not None:
            _run_rows(units, *channel, scalars)
            return out
    # Channel inputs arrive broadcast (zero strides): in other layouts the
    # buffered iterator reads them as it reads any other array.
    flat = None if (has_f16 and not bits) or op.channel_inputs else _flat(arrays)
    if flat is None:
        _run_nditer(units, arrays, scalars, widen=has_f16 and not bits)
    else:
        _run_flat(units, _write_mode(op.arity, flat, fresh), flat, scalars)
    return out


def _channel_views(op, arrays):
    """``(mode, 2-D views with the slopes in place of the channel input)``, or None.

    For C-contiguous operands and a channel input broadcast along one axis
    (or a single slope): ``(outer, channels, inner)`` becomes rows of
    ``inner`` elements with one slope each, or, when ``inner`` is 1,
    rows of ``channels`` elements with a slope per column.
    """
    index = op.inputs.index(op.channel_inputs[0])
    weight = arrays[index]
    others = [a for i, a in enumerate(arrays) if i != index]
    if not all(a.flags.c_contiguous and a.dtype.isnative and a.flags.aligned for a in others):
        return None
    shape = weight.shape
    axes = [k for k, (n, step) in enumerate(zip(shape, weight.strides)) if n > 1 and step != 0]
    if len(axes) > 1 or weight.size == 0:
        return None
    if not axes:
        slopes = weight.reshape(-1)[:1]
        outer, channels, inner = 1, 1, weight.size
    else:
        (k,) = axes
        slopes = weight[tuple(slice(None) if i == k else 0 for i in range(len(shape)))]
        outer, channels, inner = int(np.prod(shape[:k])), shape[k], int(np.prod(shape[k + 1 :]))
    slopes = slopes.astype(np.float64)
    if inner == 1:
        mode, rows = "channel_cols", (outer, channels)
    else:
        mode, rows = "channel_rows", (outer * channels, inner)
    views = [a.reshape(rows) for a in others]
    views.insert(index, slopes)
    return mode, views


def run_with_channel_gradient(op, variant: str, inputs, out, scalars):
    """Like :func:`run`, also summing the channel gradient's terms in the same pass.

    Returns the sums per channel (float64, one per slope), or None without
    writing anything when the layout has no channel driver (then the
    dispatch calls :func:`run` and sums the terms itself).
    """
    arrays = [*inputs, out]
    if any(_is_f16(a) for a in arrays):
        return None
    channel = _channel_views(op, arrays)
    if channel is None:
        return None
    mode, views = channel
    units = drivers(op, variant)
    rows, width = views[-1].shape
    channels = views[op.inputs.index(op.channel_inputs[0])].size
    step, chunks = chunking(views[-1].nbytes, views[-1].itemsize, tasks=True)
    per_chunk = max(1, step // max(1, width))
    chunks = -(-rows // per_chunk) if chunks > 1 else 1
    if mode == "channel_rows":
        acc = np.zeros(rows)
        partial = lambda k: acc  # noqa: E731  (each row has its own slot)
    else:
        acc = np.zeros((chunks, width))
        partial = lambda k: acc[k]  # noqa: E731
    driver = units.ready(mode + "_sum", [*views, partial(0)], scalars)
    bounds = lambda k: (k * per_chunk, min(rows, (k + 1) * per_chunk))  # noqa: E731
    if chunks == 1 or not _pool.run(lambda k: driver(*views, partial(k), *scalars, *bounds(k)), chunks):
        acc[...] = 0.0
        driver(*views, partial(0), *scalars, 0, rows)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN
        if mode == "channel_rows":
            return acc.reshape(-1, channels).sum(axis=0)
        return acc.sum(axis=0)


def _run_rows(units: Drivers, mode: str, arrays, scalars):
    """Run a channel driver over the rows of 2-D ``arrays``, pooled when large."""
    out = arrays[-1]
    rows = out.shape[0]
    driver = units.ready(mode, arrays, scalars)
    step, chunks = chunking(out.nbytes, out.itemsize, tasks=True)
    per_chunk = max(1, step // max(1, out.shape[1]))
    chunks = -(-rows // per_chunk)
    if chunks > 1:

        def chunk(k):
            driver(*arrays, *scalars, k * per_chunk, min(rows, (k + 1) * per_chunk))

        if _pool.run(chunk, chunks):
            return
    driver(*arrays, *scalars, 0, rows)


def _compute_dtype(a, is_out: bool, widen: bool):
    if widen and _is_f16(a):
        # Numba cannot compute in float16: inputs widen exactly to float32,
        # and the result stays in float64 until NumPy rounds it once.
        return np.dtype(np.float64 if is_out else np.float32)
    return a.dtype.newbyteorder("=")


def _run_nditer(units: Drivers, arrays, scalars, widen: bool):
    last = len(arrays) - 1
    dtypes = [_compute_dtype(a, i == last, widen) for i, a in enumerate(arrays)]
    # The iterator hands the driver contiguous 1-D chunks, the inputs read-only.
    chunks = [np.empty(0, d) for d in dtypes]
    for chunk in chunks[:-1]:
        chunk.flags.writeable = False
    direct = units.ready("direct", chunks, scalars)
    it = np.nditer(
        arrays,
        flags=["external_loop", "buffered", "zerosize_ok", "grow_inner"],
        op_flags=[["readonly", "contig"]] * last + [["writeonly", "contig"]],
        op_dtypes=dtypes,
        casting="same_kind",
        buffersize=_NDITER_BUFFER,
    )
    with it:
        for chunk in it:
            direct(*chunk, *scalars, 0, chunk[0].size)


# --- the small-call fast path (see relukit._fastpath) --------------------------


def _register_fast_paths():
    for op in OPERATIONS:
        if op.channel_inputs:
            continue  # never C-contiguous alike: always the general path
        variant = op.choose(op.defaults)
        units = drivers(op, variant)
        dtypes = ("float32", "float64")
        if op.variants[variant].int_ok and op.inputs == ("x",):
            dtypes += ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
        for name in dtypes:
            dtype = np.dtype(name)
            scalars = op.scalars(op.defaults, dtype, dtype)
            _fastpath.register(op.name, dtype, _slots(units, dtype, op.arity, scalars))


def _slots(units: Drivers, dtype, arity, scalars):
    element = numba.from_dtype(dtype)
    scalar_types = (numba.types.float64,) * 3
    flat_type = numba.types.Array(element, 1, "C")
    entries = {}

    def compile_for(job, ndim):
        signature = (numba.types.Array(element, ndim, "C"),) * (arity + 1)
        key = (units.prefix, "small", job, f"{dtype.name} {ndim}d", repr(scalars))
        return _prepared(key, lambda: units.small(job, scalars).compile(signature))

    def entry(mode):
        # The compiled entry point skips Numba's argument typing per call.
        found = entries.get(mode)
        if found is None:
            index = numba.types.int64
            signature = (flat_type,) * (arity + 1) + scalar_types + (index, index)
            key = (units.prefix, mode, f"{dtype.name} 1d", "entry point")
            found = entries[mode] = _prepared(key, lambda: units[mode].compile(signature))
        return found

    def large_mode(job, nbytes):
        # The driver for a job the fast path has checked; _write_mode
        # decides the same for the general path.
        if job == "same":
            return units.same_mode
        return "streamed" if job == "into" and _streams(nbytes) else "direct"

    def run_large(arrays, job):
        # The caller has checked the layout and, for "into", that out
        # overlaps no input.
        flat = [a.reshape(-1) for a in arrays]
        mode = large_mode(job, flat[-1].nbytes)
        _run_flat(units, mode, flat, scalars, lambda: entry(mode))

    def serial(nbytes, job):
        # Whether run_large would run the job on one core with ordinary stores.
        return large_mode(job, nbytes) != "streamed" and chunking(nbytes, dtype.itemsize)[1] == 1

    return _fastpath.Slots(compile_for, run_large, serial, dtype)


_register_fast_paths()


def threading_info() -> dict:
    """relukit's thread pool, for ``show_config``."""
    return {
        "threads": _pool.threads,
        "parallel_min_bytes": PARALLEL_MIN_BYTES,
        "tasks_min_bytes": TASKS_MIN_BYTES,
        "streaming_stores": STREAM_MIN_BYTES < _NEVER,
        "started": _pool.started,
        "strategy": _calibrate.describe(CALIBRATION),
    }
