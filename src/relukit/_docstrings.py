"""The numpydoc docstring of a public function, from its operation's declaration.

What every function shares (``out``, ``backend``, the errors of the
dispatch, in-place and overlap rules, array-likes, Dask) is written here
once; the declaration supplies the rest.
"""

from __future__ import annotations

import textwrap

_OUT = """out : ndarray, optional
    Where to write the result: same shape as the inputs, dtype of `{like}`
    (byte order may differ), writeable. ``out={like}`` works in place; an
    `out` that partially overlaps an input gets the right answer (that
    input is copied first). Not with Dask arrays."""

_BACKEND = """backend : {None, "numpy", "numba", "cupy"}, default None
    ``None`` picks by array type: Numba for NumPy arrays (the NumPy
    reference when Numba is missing), CuPy for CuPy arrays."""

_RAISES = """TypeError
    If an input has an unsupported dtype (bool, complex, object, strings,
    datetimes{ints}), if `out` has the wrong dtype or array type, if a
    parameter is not a real number, or if the backend does not compute on
    the inputs' array type.
ValueError
    If {shapes}`out` has the wrong shape or is read-only, or a parameter is
    out of its range (NaN, infinite, negative where it must not be).
    Everything is checked before anything is written."""

_COMMON_NOTES = """Array-likes follow NumPy's ufunc conventions: objects that override
``__array_ufunc__`` (pandas, xarray) get the call and keep their labels,
``np.ma.MaskedArray`` keeps its mask and leaves masked entries alone, other
ndarray subclasses keep their type, anything else goes through
``np.asarray``.

With a Dask array the result is a lazy Dask array with the input's chunks
(the common refinement of both for two Dask arrays), computed chunk by
chunk through the same dispatch as an eager call (see the user guide's
"Scaling out with Dask")."""


def _section(title: str, body: str) -> str:
    return f"{title}\n{'-' * len(title)}\n{body.strip()}\n"


def build(op) -> str:
    """The full docstring of ``op``'s public function."""
    parameters = [op.doc.inputs, _OUT.format(like=op.result_like)]
    for p in op.parameters:
        parameters.append(f"{p.name} : {p.doc_type}\n" + textwrap.indent(p.doc, "    "))
    parameters.append(_BACKEND)
    ints = ""
    if any(v.int_ok for v in op.variants.values()):
        ints = ", or integers with non-default parameters"
    elif op.inputs[-1] == "x":
        ints = ", integers"
    shapes = f"`{op.inputs[0]}` and `{op.inputs[1]}` differ in shape, " if op.arity == 2 else ""
    raises = _RAISES.format(ints=ints, shapes=shapes)
    if op.doc.raises:
        raises += "\n" + op.doc.raises
    sections = [
        op.doc.summary + "\n",
        _section("Parameters", "\n".join(parameters)),
        _section("Returns", op.doc.returns),
        _section("Raises", raises),
        _section("See Also", op.doc.see_also),
        _section("Notes", op.doc.notes + "\n\n" + _COMMON_NOTES),
        _section("Examples", op.doc.examples),
    ]
    return "\n".join(sections)
