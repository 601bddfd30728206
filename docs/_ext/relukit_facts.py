"""Facts the docs quote from the code, read from the code at build time.

``:relukit-fact:`NAME``` renders one fact (``parallel_min_bytes`` gives
"1 MiB"); :data:`FACTS` lists the names. ``.. relukit-operations::``
renders a table of every operation in ``relukit._ops.OPERATIONS``. A page
that uses them cannot disagree with the code it describes; a fact that is
not in :data:`FACTS` fails the build.

The CPU backend's two size thresholds are read from their named defaults
in ``relukit/_calibrate.py``, not from the backend's namespace, where what
``python -m relukit calibrate`` measured on the machine building the docs
may have replaced them: the docs describe relukit, not that machine.
"""

from pathlib import Path

import numpy as np
from docutils import nodes
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

from relukit import _calibrate, _fastpath, _ops, _pool


def binary_size(nbytes):
    """``1 << 20`` -> "1 MiB": the largest binary unit that divides it."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift and nbytes % (1 << shift) == 0:
            return f"{nbytes >> shift} {unit}"
    return f"{nbytes} bytes"


def spoken_list(words):
    """("a", "b", "c") -> "a, b and c"."""
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


#: The table's sources: the package that declares the operations.
OPERATION_SOURCES = tuple(sorted(Path(_ops.__file__).parent.glob("*.py")))


#: name -> (text, files it is read from); text is a str or, for the list of
#: operations, a list of function names rendered as links.
FACTS = {
    # The threshold used until a calibration replaces it.
    "parallel_min_bytes": (
        binary_size(_calibrate.DEFAULT_PARALLEL_MIN_BYTES),
        (_calibrate.__file__,),
    ),
    # From what size streaming stores are used where calibration turned them on.
    "stream_min_bytes": (
        binary_size(_calibrate.STREAMING_FROM_BYTES),
        (_calibrate.__file__,),
    ),
    # How long a worker of the pool watches for the next job, in ms.
    "spin_ms": (f"{_pool.SPIN_NS / 1e6:g}", (_pool.__file__,)),
    "fastpath_max_size": (f"{_fastpath.MAX_SIZE:,}", (_fastpath.__file__,)),
    "float_dtypes": (spoken_list(_ops.FLOAT_DTYPES), OPERATION_SOURCES),
    "int_dtypes": (spoken_list(_ops.INT_DTYPES), OPERATION_SOURCES),
    "operations": ([op.name for op in _ops.OPERATIONS], OPERATION_SOURCES),
}


def function_link(name, env):
    """A cross-reference to ``relukit.NAME``'s API page, shown as ``NAME()``."""
    ref = addnodes.pending_xref(
        "",
        refdomain="py",
        reftype="func",
        reftarget=f"relukit.{name}",
        refexplicit=True,
        refdoc=env.docname,
    )
    ref += nodes.literal(text=f"{name}()", classes=["xref", "py", "py-func"])
    return ref


def note_sources(env, paths):
    # Rebuild the page when a file a fact comes from changes.
    for path in paths:
        env.note_dependency(str(path))


def fact_role(name, rawtext, text, lineno, inliner, options=None, content=()):
    key = text.strip()
    if key not in FACTS:
        message = inliner.reporter.error(
            f"unknown relukit fact {key!r}; known: {', '.join(FACTS)}", line=lineno
        )
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    value, modules = FACTS[key]
    env = inliner.document.settings.env
    note_sources(env, modules)
    if isinstance(value, str):
        return [nodes.Text(value)], []
    links = [function_link(item, env) for item in value]
    out = []
    for i, link in enumerate(links):
        if i:
            out.append(nodes.Text(" and " if i == len(links) - 1 else ", "))
        out.append(link)
    return out, []


# --- the table of operations -------------------------------------------------


def parameter_text(parameter):
    return f"``{parameter.name}={parameter.default!r}``"


def bytes_text(op):
    """Reads plus writes per element, when all arrays share a dtype."""
    per_dtype = " / ".join(str(op.traffic * np.dtype(d).itemsize) for d in _ops.FLOAT_DTYPES)
    return [per_dtype, f"({op.traffic} × itemsize)"]


def inputs_text(op):
    lines = [", ".join(f"``{name}``" for name in op.inputs)]
    if any(v.int_ok for v in op.variants.values()):
        lines.append("integer ``x``: default parameters only")
    return lines


def operations_table(operations):
    """The table as reStructuredText lines; a cell is a list of paragraphs."""
    sizes = " / ".join(d.removeprefix("float") for d in _ops.FLOAT_DTYPES)
    header = [
        ["function"],
        ["inputs"],
        ["parameters (defaults)"],
        ["result dtype"],
        [f"bytes per element (float {sizes})"],
    ]
    rows = [
        [
            [f":func:`~relukit.{op.name}`"],
            inputs_text(op),
            [", ".join(parameter_text(p) for p in op.parameters) or "none"],
            [f"that of ``{op.result_like}``"],
            bytes_text(op),
        ]
        for op in operations
    ]
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 18 22 30 12 18", ""]
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            lines.append(("   * - " if i == 0 else "     - ") + cell[0])
            for paragraph in cell[1:]:
                lines += ["", "       " + paragraph]
    return lines


class OperationsTable(SphinxDirective):
    """``.. relukit-operations::``: every operation of the table, one row each."""

    has_content = False

    def run(self):
        note_sources(self.env, OPERATION_SOURCES)
        container = nodes.container(classes=["relukit-operations"])
        lines = StringList(operations_table(_ops.OPERATIONS), source="relukit._ops.OPERATIONS")
        self.state.nested_parse(lines, self.content_offset, container)
        return [container]


def setup(app):
    app.add_role("relukit-fact", fact_role)
    app.add_directive("relukit-operations", OperationsTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
