"""``.. relukit-differences::`` and ``.. relukit-tolerances::``: tables from the test data.

The deliberate differences between relukit and PyTorch, JAX and Keras are
records in ``tests/frameworks.py``, which ``tests/test_frameworks.py``
checks by running the frameworks: a disagreement without a record fails,
and so does a record whose example no longer differs. These directives
render those same records, so the page cannot drift from what the tests
check. Reading the records needs NumPy only, not the frameworks.
"""

import importlib.util
import math
from pathlib import Path

import numpy as np
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

DATA = Path(__file__).resolve().parents[2] / "tests" / "frameworks.py"
ALL_FLOATS = ("float16", "float32", "float64")


def load_data():
    # Loaded by path: tests/ is not a package, and putting it on sys.path
    # would expose its other modules (conftest, helpers) by bare names.
    spec = importlib.util.spec_from_file_location("relukit_frameworks_data", DATA)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def show(value, dtype):
    if math.isnan(value):
        return "nan"
    return str(np.dtype(dtype).type(value))


def plain(text):
    """``text`` as reStructuredText that shows it verbatim.

    The records' prose writes |x| and products with *, which would
    otherwise be substitution references and emphasis.
    """
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")


def literals(names):
    return ", ".join(f"``{name}``" for name in names)


def functions(data, names):
    """The functions of a record, the whole family in a few words rather than 27 names."""
    names = tuple(names)
    family = tuple(getattr(data, "FAMILY_FUNCTIONS", ()))
    if family and set(family) <= set(names):
        rest = [name for name in names if name not in family]
        return ", ".join([literals(rest)] * bool(rest) + ["every function of the family (elu to squared_relu)"])
    return literals(names)


def where(record, data):
    lines = [
        functions(data, record.functions),
        f"parameters: {plain(record.parameters)}",
        f"inputs: {plain(record.inputs)}",
    ]
    if tuple(record.dtypes) != ALL_FLOATS:
        lines.append(f"dtypes: {', '.join(record.dtypes)}")
    return lines


def list_table(header, rows, widths):
    """A list-table as reStructuredText lines; a cell is a string or a list of lines."""
    out = [".. list-table::", "   :header-rows: 1", f"   :widths: {' '.join(map(str, widths))}", ""]
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            lines = cell if isinstance(cell, list) else [cell]
            out.append(("   * - " if i == 0 else "     - ") + lines[0])
            # Separate lines of a cell become separate paragraphs.
            for line in lines[1:]:
                out += ["", "       " + line]
    return out


def differences_table(data):
    rows = []
    for record in data.DIFFERENCES:
        example = record.example
        rows.append(
            [
                ", ".join(record.frameworks),
                where(record, data),
                f"``{example}``",
                show(record.framework_gives, example.dtype),
                show(record.relukit_gives, example.dtype),
                plain(record.why),
            ]
        )
    header = ["framework", "where", "example", "framework gives", "relukit gives", "why relukit differs"]
    return list_table(header, rows, (9, 20, 18, 8, 8, 37))


def tolerances_table(data):
    rows = [
        [
            ", ".join(t.frameworks),
            [functions(data, t.functions), f"parameters: {plain(t.parameters)}", f"dtypes: {', '.join(t.dtypes)}"],
            str(t.ulps),
            # Records written before ``of`` existed count ulps of the result.
            plain(getattr(t, "of", "the result")),
            plain(t.why),
        ]
        for t in data.TOLERANCES
    ]
    return list_table(["framework", "where", "ulps", "ulps of", "why"], rows, (10, 26, 5, 15, 44))


class _Table(SphinxDirective):
    def lines(self, data):
        raise NotImplementedError

    def run(self):
        self.env.note_dependency(str(DATA))
        parent = nodes.Element()
        parent.document = self.state.document
        rst = StringList(self.lines(load_data()), source=str(DATA))
        self.state.nested_parse(rst, self.content_offset, parent)
        return parent.children


class Differences(_Table):
    def lines(self, data):
        return differences_table(data)


class Tolerances(_Table):
    def lines(self, data):
        return tolerances_table(data)


def setup(app):
    app.add_directive("relukit-differences", Differences)
    app.add_directive("relukit-tolerances", Tolerances)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
