"""The compiled half of relukit's thread pool: jobs handed over without the GIL.

Handing a job to a worker thread through Python costs tens of
microseconds on the VMs measured here: the worker sleeps on a lock, its
idle virtual CPU has to be woken, and it then needs the GIL, which the
caller gives up only once it computes. That is more than a whole call on
1 MB. So the pool's workers live in compiled code that has released the
GIL: they watch a small shared array (the *slot*) for
:data:`relukit._pool.SPIN_NS` after each job, then sleep on a futex in
it, which the calling thread wakes when it publishes a job there, from
compiled code too (:func:`run`). Neither side needs the GIL, so a call
never waits for a worker to wake: it starts on the chunks at once, and
the worker joins when it is up. A job is a
chunk function (a Numba ``cfunc`` with :data:`CHUNK_SIGNATURE`, one per
driver and dtypes) and the addresses of its arrays; whoever comes first
claims the next chunk, the caller included, so a worker without a core
holds up only a chunk it has started.

The slot, an int64 array:

- ``POSTED``: the job's generation, which workers watch;
- ``TICKET``: ``generation << SHIFT | next chunk``. The caller closes it
  (next chunk ``MASK``) before it rewrites the fields below and opens it
  after; a worker claims a chunk with a compare-and-exchange of the ticket
  it read before it read the fields, which fails if the job changed in
  between;
- ``ADDRESS`` (0: a job of Python tasks, see ``relukit._pool``), the four
  array addresses ``ARRAYS``, ``SIZE``, ``STEP`` (elements per chunk),
  ``CHUNKS``, ``DONE`` (chunks written) and ``SLEEPERS``.

The kernel scalars travel in a float64 array of three.

Linux only (``clock_gettime``, ``futex``): elsewhere :data:`AVAILABLE` is
False and the pool hands out every job as Python tasks.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import time

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._atomics import compare_exchange, fetch_add, item_pointer, load_acquire, store_release
from ._numba_drivers import jit

#: Linux's number of the ``futex`` system call, by machine (little-endian
#: 64-bit ones only: a futex is the low half of a slot's int64).
_SYS_FUTEX = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98}
_FUTEX_WAIT_PRIVATE, _FUTEX_WAKE_PRIVATE = 128, 129
#: Whether compiled jobs work here: Linux (``clock_gettime``, ``futex``) on
#: a machine above.
AVAILABLE = (
    sys.platform.startswith("linux")
    and platform.machine().lower() in _SYS_FUTEX
    and ctypes.sizeof(ctypes.c_long) == 8
)
_FUTEX = _SYS_FUTEX.get(platform.machine().lower(), -1)
_MONOTONIC = getattr(time, "CLOCK_MONOTONIC", 1)
#: Reads of the slot between two reads of the clock (a read of the clock
#: costs about 20 ns, a read of the slot about 1).
_READS_PER_CLOCK = 64

# Fields that change once per job share the first cache line of the slot;
# the counters that threads update for every chunk have a line each, so
# that updating them does not take the fields' line from the other cores.
POSTED, ADDRESS, ARRAYS, SIZE, STEP, CHUNKS, TICKET, DONE = 0, 1, 2, 6, 7, 8, 16, 24
#: Workers asleep (or about to be) on the futex in ``POSTED``'s low half.
SLEEPERS = 32
#: The CPU the caller ran on when it posted the job (see _move_off).
CALLER_CPU = 9
SLOT_SIZE = 40
#: Words of a ``cpu_set_t`` (1024 CPUs), for ``sched_setaffinity``.
CPU_SET_WORDS = 16

#: What :func:`run` returns: the job is written, and the caller waited for
#: the workers no longer than their chunks explain; written, but a worker
#: held the caller up (see ``relukit._pool``); not written yet.
IN_TIME, LATE, UNFINISHED = 0, 1, 2
#: A wait this much longer than two of the caller's chunks still counts as
#: in time: the VMs measured stall a thread for tens of microseconds now and
#: then, where a worker that lost its core to another process holds the
#: caller up for a scheduler time slice (milliseconds).
_LATE_SLACK_NS = 250_000
SHIFT = 24
MASK = (1 << SHIFT) - 1
#: A job has fewer chunks than this.
MAX_CHUNKS = MASK

#: The C signature of a chunk function: four array addresses (inputs, then
#: ``out``, the unused ones repeating ``out``), the arrays' length, the
#: chunk's ``[lo, hi)`` and the kernel scalars.
CHUNK_SIGNATURE = types.void(*(types.voidptr,) * 4, *(types.int64,) * 3, *(types.float64,) * 3)


@intrinsic
def _monotonic_ns(typingctx):
    """The monotonic clock in nanoseconds, from ``clock_gettime``."""

    def codegen(context, builder, signature, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        timespec = cgutils.alloca_once(builder, ir.ArrayType(i64, 2))
        declared = ir.FunctionType(i32, [i32, timespec.type])
        clock_gettime = cgutils.get_or_insert_function(builder.module, declared, "clock_gettime")
        builder.call(clock_gettime, [ir.Constant(i32, _MONOTONIC), timespec])
        seconds, nanoseconds = (
            builder.load(builder.gep(timespec, [ir.Constant(i32, 0), ir.Constant(i32, k)]))
            for k in (0, 1)
        )
        return builder.add(builder.mul(seconds, ir.Constant(i64, 1_000_000_000)), nanoseconds)

    return types.int64(), codegen


@intrinsic
def _call_chunk(typingctx, address, p0, p1, p2, p3, size, lo, hi, a, b, c):
    """Call the chunk function at ``address`` (see :data:`CHUNK_SIGNATURE`)."""

    def codegen(context, builder, signature, args):
        i64, f64, byte_pointer = ir.IntType(64), ir.DoubleType(), ir.IntType(8).as_pointer()
        declared = ir.FunctionType(ir.VoidType(), [byte_pointer] * 4 + [i64] * 3 + [f64] * 3)
        function = builder.inttoptr(args[0], declared.as_pointer())
        pointers = [builder.inttoptr(p, byte_pointer) for p in args[1:5]]
        builder.call(function, pointers + list(args[5:]))
        return context.get_dummy_value()

    return types.void(*(types.int64,) * 8, *(types.float64,) * 3), codegen


@intrinsic
def _futex(typingctx, slot, index, operation, value):
    """Linux's ``futex(operation, value)`` on the low 32 bits of ``slot[index]``."""

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        pointer = item_pointer(context, builder, signature.args[0], args[0], args[1])
        declared = ir.FunctionType(i64, [i64], var_arg=True)
        syscall = cgutils.get_or_insert_function(builder.module, declared, "syscall")
        operation, value = (
            context.cast(builder, v, t, types.int64) for v, t in zip(args[2:], signature.args[2:])
        )
        zero = ir.Constant(i64, 0)
        number = ir.Constant(i64, _FUTEX)
        address = builder.ptrtoint(pointer, i64)
        return builder.call(syscall, [number, address, operation, value, zero, zero, zero])

    return types.int64(slot, index, operation, value), codegen


@intrinsic
def _current_cpu(typingctx):
    """``sched_getcpu()``: the CPU this thread runs on now."""

    def codegen(context, builder, signature, args):
        declared = ir.FunctionType(ir.IntType(32), [])
        sched_getcpu = cgutils.get_or_insert_function(builder.module, declared, "sched_getcpu")
        return builder.sext(builder.call(sched_getcpu, []), ir.IntType(64))

    return types.int64(), codegen


@intrinsic
def _set_affinity(typingctx, mask):
    """``sched_setaffinity(0, ...)`` of this thread to the CPUs set in ``mask`` (uint64 words)."""

    def codegen(context, builder, signature, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        array = context.make_array(signature.args[0])(context, builder, args[0])
        pointer = builder.bitcast(array.data, ir.IntType(8).as_pointer())
        declared = ir.FunctionType(i32, [i32, i64, pointer.type])
        setaffinity = cgutils.get_or_insert_function(builder.module, declared, "sched_setaffinity")
        size = ir.Constant(i64, CPU_SET_WORDS * 8)
        return builder.sext(builder.call(setaffinity, [ir.Constant(i32, 0), size, pointer]), i64)

    return types.int64(mask), codegen


@numba.njit(inline="always")
def _move_off(slot, cpus):
    """Move this worker off the caller's CPU, if the scheduler put it there.

    After an idle spell the scheduler tends to wake a worker on the CPU of
    the thread that woke it; the two then share that CPU for milliseconds,
    until the load balancer moves one (relu in place on 1e6 float32: about
    95 us a call instead of 52 us, 2026-11-29). Taking the caller's CPU out
    of this thread's affinity moves it at once; the full set is restored
    right after. ``cpus`` holds the allowed set, then room for the reduced
    one.
    """
    cpu = slot[CALLER_CPU]
    if cpu < 0 or cpu >= 64 * CPU_SET_WORDS or _current_cpu() != cpu:
        return
    allowed, fewer = cpus[:CPU_SET_WORDS], cpus[CPU_SET_WORDS:]
    fewer[:] = allowed
    word, bit = cpu // 64, np.uint64(1) << np.uint64(cpu % 64)
    fewer[word] &= ~bit
    for k in range(CPU_SET_WORDS):
        if fewer[k] != 0:
            _set_affinity(fewer)
            _set_affinity(allowed)
            return


@numba.njit(inline="always")
def _work(slot, scalars, generation):
    """Claim and write chunks of job ``generation`` until none is left; how many."""
    written = 0
    ticket = load_acquire(slot, TICKET)
    if ticket >> SHIFT != generation:
        return written
    # Read once: they belong to this job for as long as the ticket does,
    # and a claim succeeds only while it does.
    chunks, address, size, step = slot[CHUNKS], slot[ADDRESS], slot[SIZE], slot[STEP]
    p0, p1, p2, p3 = slot[ARRAYS], slot[ARRAYS + 1], slot[ARRAYS + 2], slot[ARRAYS + 3]
    a, b, c = scalars[0], scalars[1], scalars[2]
    while ticket & MASK < chunks:
        if compare_exchange(slot, TICKET, ticket, ticket + 1):
            lo = (ticket & MASK) * step
            _call_chunk(address, p0, p1, p2, p3, size, lo, min(size, lo + step), a, b, c)
            fetch_add(slot, DONE, 1)
            written += 1
        ticket = load_acquire(slot, TICKET)
        if ticket >> SHIFT != generation:
            return written
    return written


@numba.njit(inline="always")
def _wait_for_count(slot, index, target, limit_ns):
    deadline = _monotonic_ns() + limit_ns
    while True:
        for _ in range(_READS_PER_CLOCK):
            if load_acquire(slot, index) >= target:
                return True
        if _monotonic_ns() >= deadline:
            return False


@numba.njit(inline="always")
def _close(slot, generation):
    """Stop workers claiming chunks, before the fields are rewritten for ``generation``."""
    ticket = load_acquire(slot, TICKET)
    fetch_add(slot, TICKET, ((generation << SHIFT) | MASK) - ticket)


@numba.njit(inline="always")
def _wake(slot):
    """Wake the workers that sleep on the futex, after a job is posted."""
    # An atomic add, not a load: a full barrier after the store to POSTED,
    # so that a worker either is counted here or sees the new job before it
    # sleeps (and the futex itself refuses to sleep on a changed POSTED).
    if fetch_add(slot, SLEEPERS, 0) > 0:
        _futex(slot, POSTED, _FUTEX_WAKE_PRIVATE, 0x7FFFFFFF)


def _serve(slot, scalars, cpus, seen, limit_ns):
    # The worker's loop: see serve below.
    deadline = _monotonic_ns() + limit_ns
    while True:
        generation = seen
        for _ in range(_READS_PER_CLOCK):
            generation = load_acquire(slot, POSTED)
            if generation != seen:
                break
        if generation != seen:
            seen = generation
            if slot[ADDRESS] == 0:
                return generation
            _move_off(slot, cpus)
            _work(slot, scalars, generation)
            deadline = _monotonic_ns() + limit_ns
        elif _monotonic_ns() >= deadline:
            fetch_add(slot, SLEEPERS, 1)
            if load_acquire(slot, POSTED) == seen:
                _futex(slot, POSTED, _FUTEX_WAIT_PRIVATE, seen & 0xFFFFFFFF)
            fetch_add(slot, SLEEPERS, -1)
            deadline = _monotonic_ns() + limit_ns


def _run(slot, scalars, a0, a1, a2, a3, address, a, b, c, step, chunks, limit_ns):
    # The caller's side: see run below.
    generation = slot[POSTED] + 1
    _close(slot, generation)
    slot[ADDRESS] = address
    slot[ARRAYS], slot[ARRAYS + 1] = a0.ctypes.data, a1.ctypes.data
    slot[ARRAYS + 2], slot[ARRAYS + 3] = a2.ctypes.data, a3.ctypes.data
    slot[SIZE], slot[STEP], slot[CHUNKS], slot[DONE] = a3.size, step, chunks, 0
    scalars[0], scalars[1], scalars[2] = a, b, c
    slot[CALLER_CPU] = _current_cpu()
    store_release(slot, TICKET, generation << SHIFT)
    store_release(slot, POSTED, generation)
    _wake(slot)
    start = _monotonic_ns()
    written = _work(slot, scalars, generation)
    worked = _monotonic_ns() - start
    if not _wait_for_count(slot, DONE, chunks, limit_ns):
        return UNFINISHED
    # A worker's last chunk may end up to about a chunk's time after the
    # caller's last; waiting much longer, the caller waited for a worker
    # that lost its core in the middle of a chunk.
    waited = _monotonic_ns() - start - worked
    if written > 0 and waited > 2 * worked // written + _LATE_SLACK_NS:
        return LATE
    return IN_TIME


def _post_tasks(slot):
    # A job of Python tasks: see post_tasks below.
    generation = slot[POSTED] + 1
    _close(slot, generation)
    slot[ADDRESS], slot[CHUNKS] = 0, 0
    store_release(slot, POSTED, generation)
    _wake(slot)


def _wait_done(slot, chunks, limit_ns):
    return _wait_for_count(slot, DONE, chunks, limit_ns)


#: ``serve(slot, scalars, cpus, seen, limit_ns)``, a worker's loop: works on
#: every compiled job posted after generation ``seen``, watching for the next
#: one for ``limit_ns`` and then sleeping on the futex until one is posted;
#: returns the generation of a job of Python tasks, for the caller to run.
#: ``cpus``: see :func:`affinity_words`.
serve = jit(_serve)
#: ``run(slot, scalars, a0, a1, a2, a3, address, a, b, c, step, chunks,
#: limit_ns)``: publishes a job, claims chunks with the workers until none
#: is left, and waits up to ``limit_ns`` for the workers' last chunks;
#: ``IN_TIME``, ``LATE`` or ``UNFINISHED`` (then wait with :func:`wait_done`).
run = jit(_run)
#: ``post_tasks(slot)``: tells watching workers that a job of Python tasks is posted.
post_tasks = jit(_post_tasks)
#: ``wait_done(slot, chunks, limit_ns)``: whether the job's ``chunks`` are
#: all written, waiting up to ``limit_ns``.
wait_done = jit(_wait_done)


def affinity_words():
    """The CPUs this process may run on as ``cpu_set_t`` words, then as many
    spare words: the ``cpus`` argument of :func:`serve`."""
    words = np.zeros(2 * CPU_SET_WORDS, np.uint64)
    for cpu in os.sched_getaffinity(0):
        if cpu < 64 * CPU_SET_WORDS:
            words[cpu // 64] |= np.uint64(1) << np.uint64(cpu % 64)
    return words


def padded(arrays):
    """A call's inputs and ``out``, with ``out`` repeated to four arrays: what
    :func:`run` takes (a chunk function ignores the arrays it does not use)."""
    return (*arrays, *(arrays[-1],) * (4 - len(arrays)))
