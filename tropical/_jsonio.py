"""Reading and writing the JSON documents of result types (text or a file path)."""

from __future__ import annotations

import json

__all__ = ["dump_document", "load_document"]


def dump_document(doc, path=None) -> str:
    """``json.dumps(doc)``, also written to ``path`` when one is given.

    Examples
    --------
    >>> dump_document({"format": "tropical.example", "n": 1})
    '{"format": "tropical.example", "n": 1}'
    """
    text = json.dumps(doc)
    if path is not None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    return text


def load_document(text, fmt):
    """The JSON document in ``text`` (or in the file it names) whose ``format`` is ``fmt``.

    Examples
    --------
    >>> load_document('{"format": "tropical.example", "n": 1}', "tropical.example")["n"]
    1
    >>> load_document('{"format": "other"}', "tropical.example")
    Traceback (most recent call last):
    ...
    ValueError: not a tropical.example JSON document
    """
    if not str(text).lstrip().startswith("{"):
        with open(text, encoding="utf-8") as fh:
            text = fh.read()
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise ValueError(f"not a {fmt} JSON document")
    return doc
