"""``{% cache key %}…{% endcache %}``: a template fragment rendered once per distinct key.

A batch's readers share a few hundred papers, so most of a paper's block (its authors, tags,
links, and the title and snippet when the highlights agree) is the same markup in many digests.
The fragment is rendered by Jinja as written, inside the compiled template (the inlined styles
included), and its output reused while the key is the same: the key must name every value the
fragment reads, so the output cannot differ from an uncached render (tests/service/rendering/
test_fragments.py renders batches both ways and compares them byte for byte).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser

# Entries per environment before the cache starts over: a batch holds a few hundred papers with
# a few fragments each, so this keeps several batches' worth (~10 MB at worst) without an LRU's
# bookkeeping on every hit.
MAX_FRAGMENTS = 20_000


class FragmentCache(Extension):
    """The Jinja extension; ``environment.fragments_enabled = False`` renders every fragment
    afresh (the reference the tests compare against)."""

    tags = {"cache"}

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.extend(fragments={}, fragments_enabled=True, fragment_ids=0)

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        key = parser.parse_tuple()  # {% cache a, b %}: the key is the tuple (a, b)
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        # Unique per environment, so two templates' fragments with equal keys never share output.
        env: Any = self.environment
        env.fragment_ids += 1
        fragment = nodes.Const(env.fragment_ids)
        return nodes.CallBlock(self.call_method("_cached", [fragment, key]), [], [], body).set_lineno(lineno)

    def _cached(self, fragment: int, key: Hashable, caller: Callable[[], str]) -> str:
        env: Any = self.environment
        if not env.fragments_enabled:
            return caller()
        store: dict[tuple[int, Hashable], str] = env.fragments
        found = store.get((fragment, key))
        if found is None:
            if len(store) >= MAX_FRAGMENTS:
                store.clear()
            found = store[(fragment, key)] = caller()
        return found
