"""The API page's lists of functions, read from the operation table.

``.. relukit-autosummary:: FAMILY`` renders an autosummary list (with
stub pages under ``generated/``) of every operation that the family module
``relukit._ops.FAMILY`` declares, in the table's order. An operation added
to a family therefore reaches the API page without anyone listing it; a
family module that no directive names fails the build (with ``-W``), so a
new family cannot be left off the page either.

autosummary writes its stub pages only for names it finds spelled out in
the sources, before any directive runs, so this extension asks it for the
table's stubs itself when the builder starts.
"""

import importlib
import tempfile
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.ext.autosummary.generate import generate_autosummary_docs
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from relukit import _ops

logger = logging.getLogger(__name__)

#: Where the stub pages go, relative to the docs' source folder (as in the
#: ``:toctree:`` option of the hand-written lists).
TOCTREE = "generated"


def family_modules():
    """The family modules: those under ``relukit._ops`` that declare ``OPERATIONS``."""
    modules = {}
    for path in sorted(Path(_ops.__file__).parent.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"relukit._ops.{path.stem}")
        if hasattr(module, "OPERATIONS"):
            modules[path.stem] = module
    return modules


def family_names(family):
    """The public names a family declares, in the order of the whole table."""
    declared = {op.name for op in family_modules()[family].OPERATIONS}
    return [op.name for op in _ops.OPERATIONS if op.name in declared]


def autosummary_lines(names):
    lines = [".. autosummary::", f"   :toctree: {TOCTREE}", "   :nosignatures:", ""]
    return lines + [f"   {name}" for name in names]


class FamilyAutosummary(SphinxDirective):
    """``.. relukit-autosummary:: FAMILY``: the family's functions, linked."""

    required_arguments = 1
    has_content = False

    def run(self):
        family = self.arguments[0]
        modules = family_modules()
        if family not in modules:
            known = ", ".join(modules)
            raise self.error(f"unknown operation family {family!r}; known: {known}")
        self.env.note_dependency(modules[family].__file__)
        self.env.note_dependency(_ops.__file__)
        listed = listed_families(self.env)
        listed.setdefault(self.env.docname, set()).add(family)
        container = nodes.container()
        lines = StringList(autosummary_lines(family_names(family)), source=f"relukit._ops.{family}")
        self.state.nested_parse(lines, self.content_offset, container)
        return container.children


def write_stubs(app):
    """Stub pages for every operation, made by autosummary's own generator."""
    names = [op.name for op in _ops.OPERATIONS]
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "operations.rst"
        text = [".. currentmodule:: relukit", "", *autosummary_lines(names), ""]
        listing.write_text("\n".join(text), encoding="utf-8")
        generate_autosummary_docs(
            [str(listing)],
            output_dir=str(Path(app.srcdir) / TOCTREE),
            base_path=app.srcdir,
            app=app,
            imported_members=app.config.autosummary_imported_members,
            overwrite=app.config.autosummary_generate_overwrite,
            encoding=app.config.source_encoding,
        )


def listed_families(env):
    """``{docname: families}``, kept in the environment between builds."""
    if not hasattr(env, "relukit_families"):
        env.relukit_families = {}
    return env.relukit_families


def check_every_family_listed(app, env):
    listed = set().union(*listed_families(env).values())
    missing = sorted(set(family_modules()) - listed)
    if missing:
        logger.warning(
            "operation families not on any page (add '.. relukit-autosummary:: NAME' "
            "to docs/api.rst): %s",
            ", ".join(missing),
        )


def forget_page(app, env, docname):
    # A page that is read again lists its families again.
    listed_families(env).pop(docname, None)


def merge_listed(app, env, docnames, other):
    # Parallel reads keep their own environments; join what each listed.
    for docname in docnames:
        if docname in listed_families(other):
            listed_families(env)[docname] = listed_families(other)[docname]


def setup(app):
    app.setup_extension("sphinx.ext.autosummary")
    app.add_directive("relukit-autosummary", FamilyAutosummary)
    app.connect("builder-inited", write_stubs)
    app.connect("env-purge-doc", forget_page)
    app.connect("env-merge-info", merge_listed)
    app.connect("env-check-consistency", check_every_family_listed)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
