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
# Local extensions (the CLI help directive, the facts read from the code,
# the tables from the test data and the accuracy run, the gallery order)
# live in _ext.
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
    "sphinx_copybutton",
    "relukit_cli_help",
    "relukit_facts",
    "relukit_differences",
    # The accuracy table, from docs/_data/accuracy.json (tools/accuracy.py).
    "relukit_accuracy",
    # The API page's lists of functions, from the operation table.
    "relukit_api_list",
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
html_css_files = ["relukit.css"]

# -- Copy buttons --------------------------------------------------------------
# Copy the code, not the prompts of doctests and console sessions.
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

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
    # An example without a figure gets the relukit glyph instead of
    # sphinx-gallery's logo. Each example picks its most legible figure
    # (sphinx_gallery_thumbnail_number); relukit.css shows thumbnails at
    # 400 x 280 CSS pixels, so the files are twice that for sharp screens.
    "default_thumb_file": str(DOCS / "_static" / "relukit_thumb.png"),
    "thumbnail_size": (800, 560),
    # Figures are drawn no wider than the page's text (7.5 in at 100 dpi);
    # a second file at twice the resolution keeps them sharp on HiDPI screens.
    "image_srcset": ["2x"],
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
