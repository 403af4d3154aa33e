"""service.sources loads its parsers on first use: the renderer's service.sources.latex costs a
digest run neither feedparser nor pylatexenc, and the package's names are all still there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import service.sources
from service.sources import registry

ROOT = Path(__file__).resolve().parents[3]


def imported_by(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_latex_alone_loads_no_parser() -> None:
    modules = imported_by("from service.sources.latex import has_tex, readable\nassert readable('plain') == 'plain'")
    assert not {"feedparser", "pylatexenc", "service.sources.registry", "service.papers"} & modules


def test_tex_loads_pylatexenc_when_met() -> None:
    modules = imported_by(r"from service.sources.latex import readable" + "\n"
                          r"assert readable('$\\alpha$ and \\emph{x}') == 'α and x', readable('$\\alpha$')")
    assert "pylatexenc" in modules


@pytest.mark.parametrize("name", service.sources.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(service.sources, name) is getattr(registry, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        service.sources.nothing  # noqa: B018
