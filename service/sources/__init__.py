"""Paper sources: one pure parser per kind (bytes in, ``ParseResult`` out), and the choice
of parser for a document given on the command line with ``--format auto|hf|rss|atom``
(service.sources.registry).

The names below are loaded on first use (PEP 562): importing a submodule runs this file, and
service.sources.latex serves every renderer, which needs no parser (feedparser and the parsers
cost a digest run's start ~40 ms).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.papers import SourceError
    from service.sources.base import Source, detect_format
    from service.sources.registry import FORMATS, SOURCES, get_source, source_for

_WHERE = {
    "FORMATS": "service.sources.registry",
    "SOURCES": "service.sources.registry",
    "get_source": "service.sources.registry",
    "source_for": "service.sources.registry",
    "Source": "service.sources.base",
    "detect_format": "service.sources.base",
    "SourceError": "service.papers",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


__all__ = ["FORMATS", "SOURCES", "Source", "SourceError", "detect_format", "get_source", "source_for"]
