"""An experiment for issue 12: threads that wait for work inside compiled code.

relukit's pool hands chunks to Python threads; waking one and giving it a
chunk under the GIL costs tens of microseconds, so the pool only starts
at a calibrated size (8 MiB on the project's AMD VM), and below it relukit
runs on one core where PyTorch uses two. This script measures the
alternative before anyone builds it into ``relukit._numba``:

- a *team*: worker threads that wait for a job inside a ``nogil`` Numba
  function, spinning on a shared word for a bounded number of ``pause``
  instructions (``--spins``) before they go back to Python and sleep;
- a job is published by one atomic store; the caller claims chunks from
  the front and workers from the back (so with two threads each keeps its
  half, and its cache, from call to call), and the caller takes whatever
  no worker has claimed, so it never waits for a worker without a core;
- a chunk runs relukit's own driver through a ``cfunc`` called by address.

It times, for relu in place and into ``out=`` on float32, in interleaved
blocks with medians: the team and relukit as it is; then, apart, PyTorch
(``torch.relu_``, ``torch.clamp_min(out=)``), whose threads keep spinning
after a call; and the bare hand-off of a job whose chunks do nothing.
With ``--backoff`` the team runs calls in the caller alone for a while
after one where a worker held it up (see :class:`Team`). Not part of
the package, and not tested: the atomics are LLVM instructions emitted
through ``numba.extending.intrinsic``.

    python tools/spin_team.py --spins 4096 1048576 --chunks 2 4
    python tools/spin_team.py --busy   # beside a busy-loop process
    python tools/spin_team.py --busy --backoff
    python tools/spin_team.py --busy --waits --spins 4096 --sizes 1e5 1e6
"""

from __future__ import annotations

import argparse
import platform
import statistics
import threading
import time

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from relukit._atomics import fetch_add as add
from relukit._atomics import item_pointer as _slot


# --- atomics on an int64 array's slots ----------------------------------------------


@intrinsic
def load(typingctx, array, index):
    def codegen(context, builder, signature, args):
        return builder.load_atomic(_slot(context, builder, signature.args[0], *args), "acquire", 8)

    return types.int64(array, index), codegen


@intrinsic
def store(typingctx, array, index, value):
    def codegen(context, builder, signature, args):
        pointer = _slot(context, builder, signature.args[0], args[0], args[1])
        builder.store_atomic(args[2], pointer, "release", 8)
        return context.get_dummy_value()

    return types.void(array, index, value), codegen


@intrinsic
def swap_if(typingctx, array, index, expected, new):
    """Compare-and-swap; True if the slot held ``expected`` and now holds ``new``."""

    def codegen(context, builder, signature, args):
        pointer = _slot(context, builder, signature.args[0], args[0], args[1])
        result = builder.cmpxchg(pointer, args[2], args[3], "acq_rel", "acquire")
        return builder.extract_value(result, 1)

    return types.boolean(array, index, expected, new), codegen


@intrinsic
def relax(typingctx):
    """x86's ``pause`` (through the LLVM intrinsic: Numba's JIT has no inline asm)."""

    def codegen(context, builder, signature, args):
        if platform.machine() in ("x86_64", "AMD64"):
            pause = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause"
            )
            builder.call(pause, [])
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def call_chunk(typingctx, function, block, k):
    """Call the ``void(int64 block, int64 k)`` cfunc at address ``function``."""

    def codegen(context, builder, signature, args):
        kind = ir.FunctionType(ir.VoidType(), [ir.IntType(64), ir.IntType(64)])
        builder.call(builder.inttoptr(args[0], kind.as_pointer()), [args[1], args[2]])
        return context.get_dummy_value()

    return types.void(function, block, k), codegen


def _pointer_to(element):
    @intrinsic
    def pointer(typingctx, address):
        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(types.CPointer(element)))

        return types.CPointer(element)(address), codegen

    return pointer


int64_at = _pointer_to(types.int64)
float32_at = _pointer_to(types.float32)


# --- the team ------------------------------------------------------------------------

# Slots of the control array, a cache line apart. WORD packs the job's
# generation, the end of the unclaimed chunks and their start.
WORD, DONE, FUNCTION, BLOCK = 0, 8, 16, 24
BITS = 24
MASK = (1 << BITS) - 1


@njit(nogil=True)
def claim(control, front):
    while True:
        word = load(control, WORD)
        start, end = word & MASK, (word >> BITS) & MASK
        if start >= end:
            return -1
        if front and swap_if(control, WORD, word, word + 1):
            return start
        if not front and swap_if(control, WORD, word, word - (1 << BITS)):
            return end - 1


@njit(nogil=True)
def work(control, front):
    while True:
        k = claim(control, front)
        if k < 0:
            return
        call_chunk(control[FUNCTION], control[BLOCK], k)
        add(control, DONE, 1)


@njit(nogil=True)
def serve(control, spins):
    idle = 0
    while idle < spins:
        word = load(control, WORD)
        if (word & MASK) < ((word >> BITS) & MASK):
            work(control, False)
            idle = 0
        else:
            relax()
            idle += 1


@njit(nogil=True)
def run_job(control, function, block, chunks):
    generation = (load(control, WORD) >> (2 * BITS)) + 1
    control[FUNCTION] = function
    control[BLOCK] = block
    store(control, DONE, 0)
    store(control, WORD, (generation << (2 * BITS)) | (chunks << BITS))
    work(control, True)
    waited = 0  # pauses spent waiting for chunks that workers claimed
    while load(control, DONE) < chunks:
        relax()
        waited += 1
    return waited


@njit(nogil=True)
def run_alone(function, block, chunks):
    for k in range(chunks):
        call_chunk(function, block, k)


#: A caller that waited this many pauses (about 0.3 ms on the project's AMD
#: VM) for a worker's chunk takes it that the worker lost its core.
STALL_PAUSES = 10_000
#: Calls that a team with ``backoff`` runs alone after its first stall;
#: doubled at each further stall up to the second figure, halved after
#: ``CALM_CALLS`` calls without one.
BACKOFF_CALLS = (256, 1 << 16)
CALM_CALLS = 10_000


class Team:
    """``threads - 1`` workers that spin ``spins`` pauses after each job, then sleep.

    With ``backoff``, a call that waited long for a worker (one that
    claimed a chunk and then lost its core to another process) makes the
    next calls run in the caller alone: on a busy machine the team then
    stalls rarely enough not to matter, and on a quiet one it never backs off.
    """

    def __init__(self, threads: int, spins: int, backoff: bool = False):
        self.control = np.zeros(64, np.int64)
        self.spins = spins
        self.backoff = backoff
        self.alone = 0  # calls left to run in the caller alone
        self.span = 0  # calls to run alone after the next stall
        self.calm = 0  # calls since the last stall
        self.stalls = 0
        self._wake = threading.Condition()
        self._wakes = 0
        self._sleepers = 0
        for _ in range(threads - 1):
            threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        seen = 0
        while True:
            serve(self.control, self.spins)
            with self._wake:
                if self._wakes == seen:
                    self._sleepers += 1
                    self._wake.wait()
                    self._sleepers -= 1
                seen = self._wakes

    def run(self, function, block, chunks):
        """Run the job; the pauses its caller waited for workers' chunks (0 when run alone)."""
        if self.alone:
            self.alone -= 1
            run_alone(function, block, chunks)
            return 0
        if self._sleepers:  # the caller starts at once; a sleeper joins when it can
            with self._wake:
                self._wakes += 1
                self._wake.notify_all()
        waited = run_job(self.control, function, block, chunks)
        if not self.backoff:
            return waited
        if waited >= STALL_PAUSES:
            self.stalls += 1
            self.span = min(max(2 * self.span, BACKOFF_CALLS[0]), BACKOFF_CALLS[1])
            self.alone, self.calm = self.span, 0
        else:
            self.calm += 1
            if self.calm >= CALM_CALLS:
                self.span, self.calm = self.span // 2, 0
        return waited


# --- chunks of relukit's drivers -------------------------------------------------------


def chunk_functions():
    """cfuncs running relu's in-place and direct drivers on chunk k of a block."""
    from relukit import _numba
    from relukit._ops import OPERATIONS

    relu = next(op for op in OPERATIONS if op.name == "relu")
    units = _numba.drivers(relu, relu.choose(relu.defaults))
    in_place, direct = units["in_place"], units["direct"]
    signature = types.void(types.int64, types.int64)

    # block: x's address, out's address, size, elements per chunk.
    @cfunc(signature, nogil=True)
    def in_place_chunk(block, k):
        b = carray(int64_at(block), 4)
        x = carray(float32_at(b[0]), b[2])
        in_place(x, x, 0.0, 0.0, 0.0, k * b[3], min(b[2], (k + 1) * b[3]))

    @cfunc(signature, nogil=True)
    def direct_chunk(block, k):
        b = carray(int64_at(block), 4)
        x, out = carray(float32_at(b[0]), b[2]), carray(float32_at(b[1]), b[2])
        direct(x, out, 0.0, 0.0, 0.0, k * b[3], min(b[2], (k + 1) * b[3]))

    @cfunc(signature, nogil=True)
    def nothing(block, k):
        pass

    return in_place_chunk.address, direct_chunk.address, nothing.address


def chunk_step(size, chunks):
    """Elements per chunk (whole 64-byte lines of float32) and the chunks that makes."""
    step = -(-(-(-size // chunks)) // 16) * 16
    return step, -(-size // step)


def medians(jobs, calls, rounds):
    times = {label: [] for label in jobs}
    for _ in range(rounds):
        for label, job in jobs.items():
            start = time.perf_counter()
            for _ in range(calls):
                job()
            times[label].append((time.perf_counter() - start) / calls)
    return {label: statistics.median(t) * 1e6 for label, t in times.items()}


def measure(spins, chunks, sizes, rounds, backoff):
    import relukit
    from relukit._background import wait_for_kernels

    in_place_chunk, direct_chunk, nothing = chunk_functions()
    team = Team(2, spins, backoff)
    for size in sizes:  # compile what the timed calls run before timing
        z = np.ones(size, np.float32)
        relukit.relu(z, out=z), relukit.relu(z, out=np.empty_like(z))
    wait_for_kernels()
    block = np.zeros(4, np.int64)
    handoff = medians({"hand-off": lambda: team.run(nothing, block.ctypes.data, chunks)}, 1000, rounds)
    print(
        f"spins={spins} chunks={chunks} backoff={backoff}: "
        f"hand-off of an empty job {handoff['hand-off']:.2f} us"
    )
    peers = []
    for size in sizes:
        x = np.random.default_rng(0).standard_normal(size, dtype=np.float32)
        out = np.empty_like(x)
        step, count = chunk_step(size, chunks)
        block[:] = [x.ctypes.data, out.ctypes.data, size, step]
        team.run(direct_chunk, block.ctypes.data, count)
        assert np.array_equal(out, np.maximum(x, 0)), "the team computed a wrong result"
        team.stalls = 0
        jobs = {
            "in place: team": lambda: team.run(in_place_chunk, block.ctypes.data, count),
            "in place: relukit": lambda: relukit.relu(x, out=x),
            "out=: team": lambda: team.run(direct_chunk, block.ctypes.data, count),
            "out=: relukit": lambda: relukit.relu(x, out=out),
        }
        result = medians(jobs, max(1, 10**6 // size), rounds)
        print(
            f"  {size:>10,} float32 (us): "
            + ", ".join(f"{k} {v:.1f}" for k, v in result.items())
            + (f"; stalls {team.stalls}" if backoff else ""),
            flush=True,
        )
        peers.append((size, x, out))
    # PyTorch last and apart: its OpenMP threads spin for a while after
    # each call, so interleaved with the team or relukit they take the
    # other core from them (the first runs of this script did that).
    import torch

    for size, x, out in peers:
        tx, tout = torch.from_numpy(x), torch.from_numpy(out)
        jobs = {
            "in place: torch.relu_": lambda: torch.relu_(tx),
            "out=: torch.clamp_min": lambda: torch.clamp_min(tx, 0, out=tout),
        }
        result = medians(jobs, max(1, 10**6 // size), rounds)
        print(f"  {size:>10,} float32 (us): " + ", ".join(f"{k} {v:.1f}" for k, v in result.items()))


def waits(spins, sizes, calls=3000):
    """Team calls against calls run alone, one after the other, and how long callers waited."""
    import relukit
    from relukit._background import wait_for_kernels

    in_place_chunk, _, _ = chunk_functions()
    team = Team(2, spins)
    block = np.zeros(4, np.int64)
    for size in sizes:
        x = np.random.default_rng(0).standard_normal(size, dtype=np.float32)
        relukit.relu(x, out=x)
        wait_for_kernels()
        step, count = chunk_step(size, 2)
        block[:] = [x.ctypes.data, x.ctypes.data, size, step]
        together, alone, waited = [], [], []
        for _ in range(calls):
            start = time.perf_counter()
            waited.append(team.run(in_place_chunk, block.ctypes.data, count))
            together.append(time.perf_counter() - start)
            start = time.perf_counter()
            run_alone(in_place_chunk, block.ctypes.data, count)
            alone.append(time.perf_counter() - start)
        w = np.array(waited)
        print(
            f"  {size:>10,} float32 in place, medians of {calls} calls (us): "
            f"team {np.median(together) * 1e6:.1f}, alone {np.median(alone) * 1e6:.1f}; "
            f"pauses the caller waited: median {np.median(w):.0f}, "
            f"99th percentile {np.percentile(w, 99):.0f}, most {w.max()}",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spins", type=int, nargs="+", default=[4096, 1 << 20])
    parser.add_argument("--chunks", type=int, nargs="+", default=[2])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6, 1e7])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--busy", action="store_true", help="beside one busy-loop process")
    parser.add_argument(
        "--waits", action="store_true", help="team against alone, call by call, and the waits"
    )
    parser.add_argument(
        "--backoff", action="store_true", help="run alone for a while after a stall (see Team)"
    )
    args = parser.parse_args()
    from relukit._bench import busy_cores

    sizes = [int(s) for s in args.sizes]
    if args.waits:
        with busy_cores(1 if args.busy else 0):
            for spins in args.spins:
                print(f"spins={spins} busy={args.busy}:")
                waits(spins, sizes)
        return
    for spins in args.spins:
        for chunks in args.chunks:
            with busy_cores(1 if args.busy else 0):
                measure(spins, chunks, sizes, args.rounds, args.backoff)


if __name__ == "__main__":
    main()
