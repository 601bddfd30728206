"""Sphinx configuration for relukit's documentation.

The build must pass with ``-W`` on a machine without internet, so nothing
here fetches anything unless asked: intersphinx is opt-in through the
``RELUKIT_DOCS_INTERSPHINX`` environment variable.
"""

import os
import sys
from pathlib import Path

import relukit

DOCS = Path(__file__).resolve().parent
# Local extensions (the CLI help directive, the gallery order) live in _ext.
sys.path.insert(0, str(DOCS / "_ext"))

project = "relukit"
author = "relukit developers"
copyright = "relukit developers"
release = relukit.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "relukit_cli_help",
    "relukit_differences",
]

exclude_patterns = [
    "_build",
    # Gallery sources are turned into pages under auto_examples/ by
    # sphinx-gallery; Sphinx itself must not read them.
    "examples",
    "**/sg_execution_times.rst",
]
templates_path = ["_templates"]
html_static_path = ["_static"]

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters section already has the types
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

# -- Offline by default --------------------------------------------------------
if os.environ.get("RELUKIT_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
    }

# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "gallery_order.ExampleOrder",
    # The timing page loads DataTables from a CDN; offline it shows an error.
    "write_computation_times": False,
    "download_all_examples": False,
    # An example that fails must fail the build, not render a traceback.
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    # Examples without a figure (the GPU example on a machine without GPU
    # measurements) get the relukit glyph instead of sphinx-gallery's logo.
    "default_thumb_file": str(DOCS / "_static" / "relukit_thumb.png"),
    "thumbnail_size": (320, 224),
    "remove_config_comments": True,
    "show_memory": False,
    "matplotlib_animations": False,
}

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"relukit {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "header_links_before_dropdown": 5,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": []}
html_show_sourcelink = False
