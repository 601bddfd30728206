"""The NumPy reference backend: the definition of correct.

Every other backend is tested against it. It runs each operation's
``reference`` from the operation table (plain, obviously right NumPy,
evaluated at least as wide as the result) and rounds the result once into
``out``. Overflow in that one rounding (float16 at 65520 and beyond) gives
inf silently, as the compiled backends do.
"""

from __future__ import annotations

import numpy as np

xp = np


def run(op, variant: str, inputs, out, scalars, fresh: bool = False):
    """Write ``op`` (``variant``) of ``inputs`` into ``out`` and return ``out``."""
    reference = op.variants[variant].reference
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        np.copyto(out, reference(*inputs, *scalars), casting="unsafe")
    return out
