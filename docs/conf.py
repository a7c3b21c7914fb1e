"""Sphinx configuration of the tropical documentation.

Builds offline: no intersphinx, no extension that fetches anything. Build with
``sphinx-build -W -b html docs docs/_build/html`` (warnings are errors).
"""

import tropical

project = "tropical"
author = "the tropical developers"
copyright = "the tropical developers, BSD-3-Clause"
version = release = tropical.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]

# MyST: $...$ and $$...$$ math, definition lists, heading anchors to level 3.
myst_enable_extensions = ["dollarmath", "deflist"]
myst_heading_anchors = 3

# autodoc + numpydoc: members are listed by explicit directives in api.md,
# not by numpydoc's autosummary tables (which would need stub pages).
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"tropical {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
