"""relu on a 1e8-element Dask array: relukit against ``da.maximum(x, 0)``.

Both run on the same scheduler: Dask's threads, or a ``dask.distributed``
LocalCluster of two single-threaded worker processes on the loopback
interface. The input is generated on that scheduler and held there
(persisted) before any timing; each timed call persists the result too, so
what is measured is the ReLU tasks and their scheduling, not a gather of
400 MB into the benchmark process.

Skipped (``NotImplementedError`` in ``setup``) where Dask is missing, and
the distributed case where ``distributed`` is missing.
"""

import atexit

from ._common import Prepared, require_registry

#: Elements of the input, float32: 400 MB.
SIZE = 10**8
#: Chunk sizes (elements): 4 MB and 40 MB chunks, 100 and 10 tasks.
CHUNKS = [10**6, 10**7]

IMPLEMENTATIONS = ["relukit.relu", "da.maximum(x, 0)"]

_cluster = {}


def _client():
    """One LocalCluster per benchmark process, closed when the process exits.

    asv runs ``setup`` and ``teardown`` around every timed sample; starting
    worker processes that often would cost more than the benchmark.
    """
    if "client" not in _cluster:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise NotImplementedError("distributed is not installed") from None
        cluster = LocalCluster(
            host="127.0.0.1",
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = Client(cluster, set_as_default=False)
        _cluster.update(cluster=cluster, client=client)
        atexit.register(cluster.close)
        atexit.register(client.close)  # runs first: atexit is last in, first out
    return _cluster["client"]


def _persist_on(client, y):
    """Return once every chunk of ``y`` exists on a worker.

    The chunks are released as soon as the caller drops the result.
    """
    from distributed import wait

    with client.as_current():  # wait() looks for a current client
        wait(client.persist(y))


class TimeDaskRelu(Prepared):
    """relu over every chunk of a persisted float32 Dask array."""

    params = [IMPLEMENTATIONS, ["threads", "distributed"], CHUNKS]
    param_names = ["implementation", "scheduler", "chunk"]
    number = 1
    repeat = (3, 10, 60.0)
    timeout = 600

    def prepare(self, implementation, scheduler, chunk):
        require_registry()
        try:
            import dask.array as da
        except ImportError:
            raise NotImplementedError("dask is not installed") from None
        import numpy as np

        import relukit

        if implementation == "relukit.relu":
            self.func = relukit.relu
        else:
            self.func = lambda x: da.maximum(x, 0)
        if scheduler == "threads":
            self.persist = lambda y: y.persist(scheduler="threads")
        else:
            client = _client()
            self.persist = lambda y: _persist_on(client, y)
        x = da.random.default_rng(20240601).standard_normal(SIZE, chunks=chunk, dtype=np.float32)
        self.x = x.persist(scheduler="threads") if scheduler == "threads" else client.persist(x)
        from dask.graph_manipulation import clone

        self.clone, self.calls = clone, 0
        # Also loads the Numba kernels wherever the tasks run.
        self.persist(self._fresh(self.func(self.x)))

    def time_relu(self, *params):
        self.persist(self._fresh(self.func(self.x)))

    def _fresh(self, y):
        """``y`` under keys never used before.

        Dask names a result after its inputs, so every call would reuse the
        same keys; a distributed scheduler that has not yet forgotten the
        previous result would hand it back without computing anything.
        """
        self.calls += 1
        return self.clone(y, omit=self.x, seed=self.calls)
