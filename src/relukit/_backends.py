"""Which backends exist, which one an array goes to, and loading them lazily.

A backend is a module with ``relu(x, out, params, fresh=False)``,
``relu_grad(x, out, params, fresh=False)`` and
``relu_backward(dy, x, out, params, fresh=False)`` (each writes the result
into ``out``, already allocated and validated; ``fresh`` says relukit has
just allocated ``out``, so its memory has never been touched) and ``xp``,
the array module it computes on. Importing relukit imports none of them:
Numba costs a third of a second to import and CuPy initialises CUDA.
"""

from __future__ import annotations

import importlib

from . import _background

#: Backend name -> module that implements it.
MODULES = {
    "numpy": "relukit._numpy_backend",
    "numba": "relukit._numba",
    "cupy": "relukit._cupy",
}

#: The array library each backend computes on.
ARRAY_LIBRARY = {"numpy": "numpy", "numba": "numpy", "cupy": "cupy"}

_loaded: dict = {}
_failed: dict = {}


def load(name: str):
    """Import backend ``name``, or raise ``ImportError`` saying why not."""
    module = _loaded.get(name)
    if module is not None:
        return module
    if name not in MODULES:
        raise ValueError(
            f"unknown backend {name!r}; choose one of {sorted(MODULES)} or None (automatic)"
        )
    if name in _failed:
        raise ImportError(f"backend {name!r} is not available: {_failed[name]}")
    try:
        module = importlib.import_module(MODULES[name])
    except ImportError as error:
        _failed[name] = f"{type(error).__name__}: {error}"
        raise ImportError(f"backend {name!r} is not available: {_failed[name]}") from error
    _loaded[name] = module
    return module


def array_library(a) -> str:
    """'numpy', 'cupy' or 'dask', from the type of ``a``, importing nothing."""
    top = type(a).__module__.partition(".")[0]
    return top if top in ("cupy", "dask") else "numpy"


def default_for(library: str) -> str:
    """The backend ``backend=None`` picks for arrays of ``library`` once loaded.

    NumPy arrays go to Numba when it can be imported (this imports it), else
    to the NumPy reference. What a call uses right now is :func:`for_call`.
    """
    if library == "cupy":
        return "cupy"
    try:
        load("numba")
    except ImportError:
        return "numpy"
    return "numba"


def for_call(library: str) -> str:
    """The backend a call with ``backend=None`` uses now.

    As :func:`default_for`, except that while Numba is being imported in
    the background (see ``relukit._background``) NumPy arrays go to the
    NumPy reference, and the import is requested instead of waited for.
    """
    if library == "cupy":
        return "cupy"
    if "numba" in _loaded:
        return "numba"
    if "numba" in _failed:
        return "numpy"
    if _background.enabled():
        _background.request(("import", "numba"), _load_numba_quietly)
        return "numba" if "numba" in _loaded else "numpy"
    return default_for(library)


def _load_numba_quietly():
    try:
        load("numba")
    except ImportError:
        pass  # recorded in _failed: available() and show_config say why


def available() -> dict:
    """Backend name -> True, or the reason it cannot be used."""
    status = {}
    for name in MODULES:
        try:
            load(name)
            status[name] = True
        except ImportError:
            status[name] = _failed[name]
    return status
