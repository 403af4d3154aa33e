"""The ``papermail demo`` subscriber cast, as data, and where the bundled sample papers live.

Every send hour is 0 so that, whatever hour the demo runs, each member's send moment for
today has already passed in their own timezone and all five are due at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SAMPLE_PAPERS_FILE = "sample_papers.json"


@dataclass(frozen=True)
class DemoSubscriber:
    """One demo reader and their preferences (field meanings as in ``service.subscribers.preferences``)."""

    email: str
    topics: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    frequency: str = "daily"
    send_hour: int = 0
    timezone: str = "UTC"
    min_upvotes: int = 0
    max_papers: int = 10


CAST: tuple[DemoSubscriber, ...] = (
    # Topics plus keywords: a quoted keyword is an exact phrase.
    DemoSubscriber(
        email="alice@example.org",
        topics=("efficient-inference", "ml-systems"),
        keywords=("quantization", '"KV cache"'),
        max_papers=8,
    ),
    # Topics with an exclusion: Errand-Bench is an agents paper she never sees.
    DemoSubscriber(
        email="bob@example.org",
        topics=("agents", "reasoning"),
        exclude=("benchmark",),
    ),
    # A far-east timezone: her midnight comes nine hours before UTC's.
    DemoSubscriber(
        email="carol@example.org",
        topics=("robotics", "3d-vision"),
        keywords=("sim-to-real",),
        timezone="Asia/Tokyo",
        max_papers=6,
    ),
    # No filters at all: the most upvoted papers of the day, above a floor.
    DemoSubscriber(
        email="dave@example.org",
        min_upvotes=50,
        max_papers=5,
    ),
    # Followed authors (accented, as the papers spell them) plus one keyword, no topics.
    DemoSubscriber(
        email="erin@example.org",
        keywords=("diffusion",),
        authors=("Zoë Müller", "José Álvarez"),
        timezone="America/Sao_Paulo",
    ),
)


def sample_papers_path() -> Path:
    """The bundled sample papers: a Hugging Face Daily Papers API response (a JSON list)."""
    return Path(__file__).with_name(SAMPLE_PAPERS_FILE)
