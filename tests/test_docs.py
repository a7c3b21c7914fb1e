"""The code examples of the documentation are tests.

Every fenced block of ``docs/**/*.md`` (subfolders such as ``docs/howto/``
included; the build output ``docs/_build`` and the generated notebook pages
``docs/notebooks`` excluded) whose language is ``pycon`` or ``python`` and
that contains a ``>>>`` prompt is run with :mod:`doctest`. The blocks of
one page share a namespace, in page order, like one interactive session.
A failure names the page and the line of the failing example.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import numpy as np
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
#: folders of docs/ that hold no hand-written pages
GENERATED = {"_build", "notebooks"}
PAGES = sorted(p for p in DOCS.rglob("*.md")
               if GENERATED.isdisjoint(p.relative_to(DOCS).parts[:-1]))
PAGE_IDS = [p.relative_to(DOCS).as_posix() for p in PAGES]
#: pages that must show executed examples
GUIDES = {"quickstart.md", "concepts.md", "howto/check-my-model.md", "howto/count-regions.md",
          "howto/symbolic-deformation.md"}

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# An opening fence: up to three spaces, three or more backticks, a language.
_FENCE = re.compile(r"^( {0,3})(`{3,})\s*([\w+-]*)[^`\n]*$")


def doc_blocks(text: str):
    """``(first_line, source)`` of every doctest block of a Markdown page.

    ``first_line`` is the 1-based line of the block's first source line.
    """
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, lang = match.groups()
        close = re.compile(rf"^ {{0,3}}`{{{len(fence)},}}\s*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        body = [ln[len(indent):] if ln.startswith(indent) else ln for ln in lines[i + 1:j]]
        source = "\n".join(body) + "\n"
        if lang in ("pycon", "python") and ">>>" in source:
            yield i + 2, source
        i = j + 1


def run_page(path: Path, text: str | None = None):
    """Run every doctest block of a page; ``(failed, attempted, report)``."""
    text = path.read_text(encoding="utf-8") if text is None else text
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    globs = {"__name__": f"docs.{path.stem.replace('-', '_')}"}
    report = []
    failed = attempted = 0
    for first_line, source in doc_blocks(text):
        test = parser.get_doctest(source, globs, f"{path.name}:{first_line}",
                                  str(path), first_line - 1)
        result = runner.run(test, out=report.append, clear_globs=False)
        globs = test.globs  # DocTest copies its globals: carry them on
        failed += result.failed
        attempted += result.attempted
    return failed, attempted, "".join(report)


@pytest.fixture(autouse=True)
def _numpy_print_defaults():
    """Examples are written against numpy's default print options."""
    saved = np.get_printoptions()
    np.set_printoptions(precision=8, suppress=False, linewidth=75)
    try:
        yield
    finally:
        np.set_printoptions(**saved)


def test_pages_found():
    names = set(PAGE_IDS)
    assert {"index.md", "algebra.md", "api.md", "kernels.md", "cli.md", "quickstart.md",
            "concepts.md", "changelog.md", "howto/check-my-model.md", "howto/count-regions.md",
            "howto/symbolic-deformation.md", "howto/scale-out.md"} <= names
    assert not any(name.startswith(("_build/", "notebooks/")) for name in names)


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_page_examples(page):
    failed, attempted, report = run_page(page)
    name = page.relative_to(DOCS).as_posix()
    assert failed == 0, f"{failed} of {attempted} examples of docs/{name} failed:\n{report}"
    if name in GUIDES:  # a guide teaches by executed examples: it cannot pass by having none
        assert attempted >= 3, f"docs/{name} has only {attempted} executed examples"


def test_wrong_output_fails(tmp_path):
    """The harness detects a wrong expected output and names file and line."""
    page = tmp_path / "bad.md"
    text = (
        "# A page\n\n"
        "```pycon\n"
        ">>> import tropical\n"
        ">>> tropical.matmul([[0.0, 2.0]], [[1.0], [0.0]])\n"
        "array([[3.]])\n"
        "```\n"
        "\n```python\nprint('not a doctest block')\n```\n"
    )
    page.write_text(text)
    failed, attempted, report = run_page(page)
    assert (failed, attempted) == (1, 2)
    assert f'File "{page}", line 5' in report
    assert "array([[2.]])" in report


def test_blocks_share_a_namespace_and_skip_plain_code(tmp_path):
    page = tmp_path / "ok.md"
    page.write_text(
        "```pycon\n>>> x = 41\n```\n\n"
        "```bash\n>>> not python\n```\n\n"
        "````python\n>>> x + 1\n42\n````\n"
    )
    assert run_page(page)[:2] == (0, 2)


def test_api_page_documents_every_public_name():
    import tropical

    api = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. (?:auto\w+|py:\w+):: tropical\.(\w+)\s*$", api, re.M))
    missing = []
    for name in tropical.__all__:
        if name == "__version__" or name in documented:
            continue
        try:
            getattr(tropical, name)
        except (ImportError, AttributeError):
            continue  # announced but not importable yet: other tests catch that
        missing.append(name)
    assert not missing, f"docs/api.md does not document {missing}"


# -- notebooks ------------------------------------------------------------------------
NOTEBOOKS = DOCS.parent / "notebooks"
#: the notebooks the documentation promises (docs/index.md renders notebooks/*.py)
NOTEBOOK_NAMES = ["01-deformation.py", "02-tropical-curves.py", "03-diagram.py",
                  "04-network-regions.py", "06-maxplus.py"]


def percent_cells(text: str):
    """``(kind, source)`` of the cells of a jupytext ``py:percent`` notebook.

    The header (before the first ``# %%``) is dropped; ``kind`` is
    ``"markdown"`` or ``"code"``; markdown sources lose their ``# `` prefix.
    """
    cells, kind, body = [], None, []
    for line in text.splitlines():
        if line.startswith("# %%"):
            if kind is not None:
                cells.append((kind, "\n".join(body).strip()))
            kind = "markdown" if "[markdown]" in line else "code"
            body = []
        elif kind is not None:
            body.append(line[2:] if kind == "markdown" and line.startswith("# ") else
                        "" if kind == "markdown" and line == "#" else line)
    if kind is not None:
        cells.append((kind, "\n".join(body).strip()))
    return cells


def test_percent_cells_parser():
    text = "# ---\n# jupyter: x\n# ---\n\n# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nx = 1\n\n# %%\nassert x\n"
    assert percent_cells(text) == [("markdown", "# Title\n\ntext"), ("code", "x = 1"), ("code", "assert x")]


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_shape(name):
    """A notebook states what it shows first, is plain py:percent text, and ends by asserting."""
    path = NOTEBOOKS / name
    assert path.is_file(), f"notebooks/{name} is missing"
    text = path.read_text(encoding="utf-8")
    assert "format_name: percent" in text
    cells = percent_cells(text)
    kind, first = cells[0]
    assert kind == "markdown" and first.startswith("# "), f"{name}: the first cell must be a titled markdown cell"
    assert "shows" in first.lower(), f"{name}: the first cell must state what the notebook shows"
    code = [src for k, src in cells if k == "code"]
    assert code and re.search(r"^\s*assert\b", code[-1], re.M), f"{name}: the last code cell must assert"
