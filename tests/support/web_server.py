"""`papermail web` on a fresh embedded DATA_DIR, as the browser tests start it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from config.settings import Settings
from service.demo.run import sample_papers_for
from service.ingest.poll import ingest_document
from service.storage import migrate
from tests.conftest import REPO_ROOT, make_settings
from tests.support.processes import free_port, papermail_process, wait_for_http


@contextmanager
def embedded_web(tmp: Path, prepare: Callable[[Settings], object] = lambda settings: None) -> Iterator[tuple[str, Settings]]:
    """Migrate a DATA_DIR under TMP, let PREPARE fill it, and serve it on a free loopback port
    (mail into the outbox) until the block ends. Yields the base URL and the settings."""
    url = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(tmp / "var", mail_backend="outbox", base_url=url)
    migrate.upgrade(settings)
    prepare(settings)
    port = url.rsplit(":", 1)[1]
    with papermail_process(["web", "--host", "127.0.0.1", "--port", port], settings, REPO_ROOT, tmp / "web.log") as web:
        wait_for_http(f"{url}/healthz", web, tmp / "web.log")
        yield url, settings


def ingest_todays_samples(settings: Settings) -> None:
    """The demo's sample papers, dated so that their last day is today: digests and previews
    carry only the reader's days."""
    now = datetime.now(UTC)
    ingest_document(settings, sample_papers_for(now.date()), source_name="demo", fmt="hf", now=now)
