"""Declaring an activation once: its forward, derivative and backward operations.

Most of relukit's operations come in threes: ``f(x)``, ``f_grad(x)`` and
``f_backward(dy, x) = dy * f_grad(x)``. :func:`activation` takes what is
particular to ``f`` (the formula of each variant as a NumPy reference, a
Numba element function and a CUDA statement, for the function and its
derivative, plus parameters and docs) and returns the three
:class:`~relukit._ops._declare.Operation` declarations. The backward pass is
derived from the derivative by :class:`ChainRule`, so it is written once.

Conventions of the element functions (see ``Variant``): they take the
element and the three kernel scalars and return a float64; the store into
the result rounds once. CUDA statements set ``double r`` (function) or
``double g`` (derivative) from ``const double v`` (the widened element) and
``a, b, c``.
"""

from __future__ import annotations

from typing import Callable, Dict, NamedTuple, Optional, Tuple

import numpy as np

from ._declare import Doc, Operation, Parameter, Variant


class ChainRule(NamedTuple):
    """The element function of a backward pass: ``dy * derivative(x)``.

    Exactly 0 where the derivative is exactly 0, whatever ``dy`` is (inf or
    NaN included), as relu_backward selects; NaN where the derivative is
    NaN (NaN in ``x``). Backends that compile element functions compose the
    derivative's compiled body with this rule (``relukit._numba``).
    """

    derivative: Callable

    def __call__(self, dy, x, a, b, c):
        d = self.derivative(x, a, b, c)
        return 0.0 if d == 0.0 else d * np.float64(dy)


def chain_rule_reference(derivative_reference: Callable) -> Callable:
    """The NumPy reference of a backward pass, from the derivative's."""

    def reference(dy, x, a, b, c):
        d = np.asarray(derivative_reference(x, a, b, c), dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            return np.where(d == 0.0, 0.0, d * dy.astype(np.float64))

    return reference


class Formula(NamedTuple):
    """One variant of an activation: the function and its derivative, three ways."""

    reference: Callable
    cpu: Callable
    cuda: str
    grad_reference: Callable
    grad_cpu: Callable
    grad_cuda: str


def _cuda(statements: str, result: str, store: str) -> str:
    return f"""
    const double v = relukit_widen(x);
    double {result};
    {statements.strip()}
    {store}"""


def _plain(values):
    # The default choose(): one formula, keyed "plain", whatever the values.
    return "plain"


def _no_scalars(values, x_dtype, result_dtype):
    # The default scalars(): nothing to pass the kernels (their a, b, c are
    # unused). An activation with parameters gives its own.
    return 0.0, 0.0, 0.0


def activation(
    name: str,
    *,
    formulas: Dict[str, Formula],
    docs: Tuple[Doc, Doc, Doc],
    peers: Tuple[Callable, Callable, Callable],
    ulps: int,
    parameters: Tuple[Parameter, ...] = (),
    choose: Callable[[dict], str] = _plain,
    scalars: Callable = _no_scalars,
    parameter_sets: Optional[Dict[str, dict]] = None,
    derivative_cancels: bool = False,
):
    """The operations ``name``, ``name_grad`` and ``name_backward``.

    The defaults fit the common case, an activation with one formula keyed
    ``"plain"`` and no parameters, so that a declaration spells out only
    what differs from it.

    Parameters
    ----------
    name : str
        The forward function's name; the other two get ``_grad`` and
        ``_backward``.
    formulas : dict of str to Formula
        ``{variant: Formula(...)}``, the function and its derivative of
        each variant.
    docs : tuple of three Doc
        The docstrings of the function, its derivative and its backward pass.
    peers : tuple of three callables
        Their ``peers(mode)`` factories, as ``Operation.peers``.
    ulps : int
        As ``Operation.ulps``, shared by the three.
    parameters : tuple of Parameter, default ()
        The keyword parameters, shared by the three.
    choose : callable, default: always ``"plain"``
        ``choose(values) -> variant``, as ``Operation.choose``; give it
        where ``formulas`` has any other key than ``"plain"``.
    scalars : callable, default: always ``(0.0, 0.0, 0.0)``
        ``scalars(values, x_dtype, result_dtype) -> (a, b, c)``, as
        ``Operation.scalars``; give it where the formulas read ``a, b, c``.
    parameter_sets : dict of str to dict, optional
        The parameter sets the tests and benchmarks sweep; by default the
        defaults alone, ``{"plain": {}}``.
    derivative_cancels : bool, default False
        As ``Operation.cancels``, for the derivative and the backward pass.

    Returns
    -------
    tuple of three Operation
        The function, its derivative and its backward pass, in this order.
    """
    if parameter_sets is None:
        # A new dict per call: the three operations of one activation share
        # it, those of two activations do not.
        parameter_sets = {"plain": {}}
    forward_variants, grad_variants, backward_variants = {}, {}, {}
    for key, f in formulas.items():
        forward_variants[key] = Variant(
            f.reference, f.cpu, _cuda(f.cuda, "r", "out = relukit_round<T>(r)")
        )
        grad_variants[key] = Variant(
            f.grad_reference, f.grad_cpu, _cuda(f.grad_cuda, "g", "out = relukit_round<T>(g)")
        )
        backward_variants[key] = Variant(
            chain_rule_reference(f.grad_reference),
            ChainRule(f.grad_cpu),
            _cuda(
                f.grad_cuda,
                "g",
                "out = g == 0.0 ? D(0) : relukit_round<D>(g * relukit_widen(dy))",
            ),
        )
    common = dict(
        parameters=parameters,
        choose=choose,
        scalars=scalars,
        parameter_sets=parameter_sets,
        ulps=ulps,
    )
    unary = dict(inputs=("x",), result_like="x", traffic=2, make_inputs=_unary_inputs)
    return (
        Operation(name=name, variants=forward_variants, doc=docs[0], peers=peers[0], **unary, **common),
        Operation(
            name=f"{name}_grad",
            variants=grad_variants,
            doc=docs[1],
            peers=peers[1],
            cancels=derivative_cancels,
            **unary,
            **common,
        ),
        Operation(
            name=f"{name}_backward",
            inputs=("dy", "x"),
            result_like="dy",
            traffic=3,
            make_inputs=_backward_inputs,
            variants=backward_variants,
            doc=docs[2],
            peers=peers[2],
            cancels=derivative_cancels,
            **common,
        ),
    )


def _unary_inputs(make):
    return (make(0),)


def _backward_inputs(make):
    return (make(1), make(0))
