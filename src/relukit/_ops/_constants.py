"""Constants that more than one module of the family needs, written once.

A module of its own, importing nothing from relukit, so that both the
operations (``smooth.py``) and their peers (``smooth_peers.py``, which
``smooth.py`` imports) can take them from here without an import cycle,
and a correction cannot reach one and miss the other.
"""

#: SELU's constants as PyTorch and JAX write them (Klambauer et al., 2017);
#: Python rounds them to the nearest float64.
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717

#: sqrt(1/2) and 1/sqrt(2*pi), GELU's constants, correctly rounded.
SQRT_HALF = 0.7071067811865476
INV_SQRT_2PI = 0.3989422804014327
