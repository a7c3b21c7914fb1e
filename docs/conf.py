"""Sphinx configuration of the tropical documentation.

Builds offline: no intersphinx, no extension that fetches anything. Build with
``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors).

Pages are MyST Markdown read by myst-nb (which contains the MyST parser; do
not load ``myst_parser`` next to it). The notebooks are rendered from their
jupytext ``py:percent`` sources: when the builder starts, ``notebooks/*.py``
are copied into the generated folder ``docs/notebooks/`` (never edit it, it
is not committed), where myst-nb reads them through jupytext and executes
them (see ``nb_execution_mode`` below).
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import tropical

DOCS = Path(__file__).resolve().parent
NOTEBOOK_SOURCES = DOCS.parent / "notebooks"
NOTEBOOK_PAGES = DOCS / "notebooks"  # generated at build time

project = "tropical"
author = "the tropical developers"
copyright = "the tropical developers, BSD-3-Clause"
version = release = tropical.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]

# myst-nb registers .md and .ipynb itself; nb_custom_formats adds .py, so
# conf.py must be excluded from the sources.
root_doc = "index"
exclude_patterns = ["_build", "conf.py", "**.ipynb_checkpoints", "notebooks/__pycache__"]

# MyST: $...$ and $$...$$ math, definition lists, heading anchors to level 3.
myst_enable_extensions = ["dollarmath", "deflist"]
myst_heading_anchors = 3

# Notebooks: jupytext py:percent sources, executed while the docs build so
# that the pages show their outputs (tables, plots). "cache" executes a
# notebook once and reuses its outputs until its source changes (jupyter-cache,
# in docs/_build/.jupyter_cache, next to the html output). On a clean CI
# checkout every notebook runs once more after nbmake: measured on 2 busy
# cores, the build took 117 s wall / 26 s CPU executing five notebooks against
# 31 s wall / 7 s CPU from the cache, i.e. about 20 s of CPU per CI run, small
# next to the test suite. "off" would render the sources without outputs;
# "force" would re-execute on every local build. An error in a cell (a failing
# assertion) fails the build, as it fails nbmake. Caveat of "cache": a library
# change that breaks a notebook whose source did not change is caught by
# nbmake, not by a local incremental docs build.
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
nb_execution_mode = "cache"
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_execution_show_tb = True
nb_merge_streams = True

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


def copy_notebooks(app):
    """Mirror ``notebooks/*.py`` into ``docs/notebooks/`` (only what changed).

    Unchanged files keep their modification time, so an incremental build
    does not re-read (or re-execute) them; copies whose source is gone are
    removed.
    """
    NOTEBOOK_PAGES.mkdir(exist_ok=True)
    sources = {p.name: p for p in sorted(NOTEBOOK_SOURCES.glob("*.py"))}
    for stale in NOTEBOOK_PAGES.glob("*.py"):
        if stale.name not in sources:
            stale.unlink()
    for name, src in sources.items():
        dst = NOTEBOOK_PAGES / name
        if not (dst.exists() and filecmp.cmp(src, dst, shallow=False)):
            shutil.copyfile(src, dst)


def setup(app):
    app.connect("builder-inited", copy_notebooks)
    return {"parallel_read_safe": True}
