"""relukit next to what users would otherwise write, on the same inputs.

Each graph holds relukit (default backend) and every peer that
``relukit._peers.all_peers`` finds here: the NumPy one-liners, the seed
project's Numba ReLU and PyTorch's CPU kernels where torch is installed.
"""

from ._common import DTYPES, SIZES, Prepared, inputs, registry, require_registry

try:
    from relukit._peers import all_peers
except ImportError:  # a commit from before the peers table
    all_peers = None

RELUKIT = "relukit"


def _labels(function):
    if all_peers is None or registry is None:
        return [RELUKIT]
    return [RELUKIT, *all_peers(function)]


class _Peers(Prepared):
    function = None
    param_names = ["implementation", "size", "dtype"]

    def prepare(self, implementation, size, dtype):
        spec = require_registry().BY_NAME[self.function]
        if implementation == RELUKIT:
            self.func = spec.func
        else:
            peers = all_peers(self.function) if all_peers is not None else {}
            if implementation not in peers:
                raise NotImplementedError(f"{implementation} is not available here")
            self.func = peers[implementation]
        self.args = inputs(spec.arity, size, dtype)
        if implementation == RELUKIT:
            self.func(*self.args)
            return
        try:
            self.func(*self.args)
        except Exception as error:  # e.g. the seed's Numba code has no float16
            raise NotImplementedError(f"{implementation} fails on {dtype}: {error!r}") from None

    def _call(self):
        self.func(*self.args)


class PeersRelu(_Peers):
    function = "relu"
    params = [_labels("relu"), SIZES, DTYPES]

    def time_relu(self, *params):
        self._call()


class PeersReluGrad(_Peers):
    function = "relu_grad"
    params = [_labels("relu_grad"), SIZES, DTYPES]

    def time_relu_grad(self, *params):
        self._call()


class PeersReluBackward(_Peers):
    function = "relu_backward"
    params = [_labels("relu_backward"), SIZES, DTYPES]

    def time_relu_backward(self, *params):
        self._call()
