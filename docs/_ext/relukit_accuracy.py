"""``.. relukit-accuracy::``: the measured accuracy of every operation, from the JSON.

``tools/accuracy.py`` compares relukit's results with exact values (mpmath)
and writes ``docs/_data/accuracy.json``; this directive renders what that
file says: how it was measured (the method, the command, the machine and
the versions, all read from the file), the worst error per operation and
dtype, the failures (results that should have been exactly NaN, inf or 0,
or NaN where they should not), and how far softplus' switch to ``x`` is
from the smooth function. Nothing here recomputes anything, so the page
shows the numbers of the run that was committed.

Options: ``:part:`` one of ``method``, ``table``, ``failures``, ``switch``
(default: all four, in that order).
"""

import json
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

DATA = Path(__file__).resolve().parents[1] / "_data" / "accuracy.json"
PARTS = ("method", "table", "failures", "switch")


def load():
    with open(DATA, encoding="utf-8") as f:
        return json.load(f)


def ulps(value):
    """A worst ulp as a short string: exact up to a million, then 1.2e+16."""
    if value is None:
        return "n/a"
    return str(value) if value < 10**6 else f"{value:.1e}"


def row_name(result):
    name = f"``{result['operation']}``"
    if result["parameters"]:
        shown = ", ".join(f"{k}={v!r}" for k, v in result["parameters"].items())
        name += f" ({shown})"
    return name


def where(at, right="not"):
    """Where the worst error occurs: the input (and dy), the result, the right one."""
    if not at:
        return ""
    place = f"x = {at['x']}"
    if "dy" in at:
        place = f"dy = {at['dy']}, " + place
    return f"{place}: {at['result']}, {right} {at['correctly_rounded']}"


def list_table(header, rows, widths):
    """A list-table as reStructuredText lines; a cell is a string or a list of lines."""
    out = [".. list-table::", "   :header-rows: 1", f"   :widths: {' '.join(map(str, widths))}", ""]
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            lines = cell if isinstance(cell, list) else [cell]
            out.append(("   * - " if i == 0 else "     - ") + (lines[0] if lines else ""))
            for line in lines[1:]:
                out += ["", "       " + line]
    return out


def method_lines(data):
    machine, versions = data["machine"], data["versions"]
    lines = []
    for paragraph in data["method"]:
        lines += [paragraph, ""]
    source = data.get("source", {})
    modified = " (with uncommitted changes in ``src/``)" if source.get("src_modified") else ""
    commit = f"commit ``{source['commit'][:10]}``{modified}, " if source.get("commit") else ""
    lines += [
        f"Measured on {data['date']} with ``{data['command']}`` ({commit}{data['seconds']:.0f} s on "
        f"{machine['cpu']}, {machine['system']}, {data['processes']} worker processes), relukit "
        f"{versions['relukit']}, NumPy {versions['numpy']}, Numba {versions['numba']}, mpmath "
        f"{versions['mpmath']}, Python {versions['python']}.",
        "",
    ]
    return lines


def table_lines(data):
    """Operation x dtype: the worst ulp with the default backend (Numba), and NumPy's where it differs."""
    dtypes = list(data["points"])
    rows = {}
    for r in data["results"]:
        key = (r["operation"], json.dumps(r["parameters"], sort_keys=True))
        rows.setdefault(key, {"name": row_name(r), "cells": {}})
        rows[key]["cells"].setdefault(r["dtype"], {})[r["backend"]] = r
    body = []
    for row in rows.values():
        line = [row["name"]]
        for dtype in dtypes:
            cell = row["cells"].get(dtype)
            if not cell:
                line.append("")
                continue
            numba, numpy = cell.get("numba"), cell.get("numpy")
            main = numba or numpy
            text = f"**{ulps(main['worst_ulp'])}**"
            if numba and numpy and numba["worst_ulp"] != numpy["worst_ulp"]:
                text += f" (NumPy backend: {ulps(numpy['worst_ulp'])})"
            failures = sum(c["failures"] for c in cell.values())
            if failures:
                text += f", {failures} failures"
            line.append([text] + ([where(main["at"])] if main["worst_ulp"] else []))
        body.append(line)
    width = (100 - 22) // len(dtypes)
    return list_table(["operation"] + dtypes, body, [22] + [width] * len(dtypes))


def failures_lines(data):
    failing = [r for r in data["results"] if r["failures"]]
    if not failing:
        return ["No failures: wherever the exact value is NaN, infinite or exactly 0, so is the "
                "result, and no result is NaN where the exact value is not.", ""]
    body = []
    for r in failing:
        examples = [where(e) for e in r["failure_examples"]]
        body.append([row_name(r), r["dtype"], r["backend"], str(r["failures"]), examples])
    return list_table(["operation", "dtype", "backend", "failures", "examples"], body, [22, 9, 9, 8, 52])


def switch_lines(data):
    switch = [s for s in data.get("softplus_switch", []) if s["backend"] == "numba"]
    if not switch:
        return []
    lines = [
        "Softplus follows PyTorch: where ``beta * x > threshold`` the result is ``x`` itself "
        "(and the derivative 1), which the table above measures as the definition. How far "
        "that is from the smooth function ``log1p(exp(beta * x)) / beta`` (and its "
        "derivative, ``sigmoid(beta * x)``) over the same inputs above the threshold:",
        "",
    ]
    dtypes = list(data["points"])
    rows = {}
    for s in switch:
        key = (s["operation"], json.dumps(s["parameters"], sort_keys=True))
        rows.setdefault(key, [row_name(s)] + [""] * len(dtypes))
        worst = s["worst_ulp_from_smooth"]
        cell = [f"**{ulps(worst)}**"] + ([where(s["at"], "smooth function:")] if worst else [])
        rows[key][1 + dtypes.index(s["dtype"])] = cell
    width = (100 - 22) // len(dtypes)
    return lines + list_table(["operation"] + dtypes, list(rows.values()), [22] + [width] * len(dtypes))


def not_measured_lines(data):
    missing = data.get("not_measured", [])
    if not missing:
        return []
    names = ", ".join(f"``{m['operation']}``" for m in missing)
    return ["", f"Not measured: {names} ({missing[0]['why']}).", ""]


class Accuracy(SphinxDirective):
    has_content = False
    option_spec = {"part": lambda value: directives.choice(value, PARTS)}

    def run(self):
        self.env.note_dependency(str(DATA))
        data = load()
        parts = [self.options["part"]] if "part" in self.options else PARTS
        lines = []
        for part in parts:
            lines += {
                "method": method_lines,
                "table": lambda d: table_lines(d) + [""] + not_measured_lines(d),
                "failures": failures_lines,
                "switch": switch_lines,
            }[part](data)
            lines.append("")
        parent = nodes.Element()
        parent.document = self.state.document
        self.state.nested_parse(StringList(lines, source=str(DATA)), self.content_offset, parent)
        return parent.children


def setup(app):
    app.add_directive("relukit-accuracy", Accuracy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
