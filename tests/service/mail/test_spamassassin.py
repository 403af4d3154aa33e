"""SpamAssassin's local tests (Debian's ``spamassassin -L -t``) on the real bytes of a digest, a
confirmation and a welcome mail, rendered and composed the way the workers do it: each scores at
most 0.5, and none trips the rules a fragile layout used to (low-contrast preheader, words that
run together once the styles are gone)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from service.mail import Composer, Unsubscribe
from service.rendering import render_confirm, render_digest, render_welcome
from tests.conftest import make_settings, skip_or_fail
from tests.service.rendering.samples import SENDER, digest

pytestmark = pytest.mark.integration

SPAMASSASSIN = shutil.which("spamassassin") or "/usr/bin/spamassassin"
LIMIT = 0.5
LAYOUT_RULES = ("HTML_FONT_LOW_CONTRAST", "HTML_OBFUSCATE", "HTML_FONT_SIZE", "HTML_TINY_FONT", "T_REMOTE_IMAGE")
BASE = "https://papermail.example"


@pytest.fixture(scope="module", params=[False, True], ids=["7bit-relay", "8bitmime-relay"])
def composer(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Composer:
    """As for a relay without 8BITMIME (non-ASCII text quoted-printable) and one with it (8bit)."""
    settings = make_settings(
        tmp_path_factory.mktemp("var"), mail_from="papermail <digest@papermail.example>", base_url=BASE
    )
    eight_bit: bool = request.param
    return Composer.from_settings(settings, takes_8bit=lambda: eight_bit)


def digest_bytes(composer: Composer) -> bytes:
    ctx = digest(10)
    # As deliver.py sends them: every paper with its signed 👍/👎 links.
    papers = [
        replace(p, more_url=f"{BASE}/vote/MORE{i}.sig", less_url=f"{BASE}/vote/LESS{i}.sig")
        for i, p in enumerate(ctx.papers)
    ]
    ctx = replace(ctx, papers=papers)
    email = render_digest(ctx)
    return composer.compose(
        to_address=ctx.recipient, subject=email.subject, text=email.text, html=email.html,
        message_key="alice/2025-11-27", delivery_id=7, unsubscribe=Unsubscribe(ctx.links.unsubscribe_url, "TOKEN"),
    ).data  # fmt: skip


def confirm_bytes(composer: Composer) -> bytes:
    email = render_confirm(recipient="alice@example.org", confirm_url=f"{BASE}/confirm/TOKEN", sender=SENDER,
                           topics=["Agents", "Efficient inference"], keywords=["KV cache"])  # fmt: skip
    return composer.compose(to_address="alice@example.org", subject=email.subject, text=email.text,
                            html=email.html, message_key="confirm/1", kind="confirm").data  # fmt: skip


def welcome_bytes(composer: Composer) -> bytes:
    email = render_welcome(recipient="alice@example.org", preferences_url=f"{BASE}/preferences/TOKEN",
                           unsubscribe_url=f"{BASE}/unsubscribe/TOKEN", sender=SENDER, topics=["Agents"],
                           schedule="every morning at 8:00 (Europe/Paris)")  # fmt: skip
    return composer.compose(to_address="alice@example.org", subject=email.subject, text=email.text,
                            html=email.html, message_key="welcome/1", kind="welcome",
                            unsubscribe=Unsubscribe(f"{BASE}/unsubscribe/TOKEN", "TOKEN")).data  # fmt: skip


def spam_report(data: bytes, home: Path) -> tuple[float, list[str]]:
    """(score, rule names) from ``spamassassin -L -t``: local tests only, no DNS or network."""
    if not Path(SPAMASSASSIN).is_file():
        skip_or_fail("spamassassin is not installed (Debian package spamassassin)")
    result = subprocess.run(
        [SPAMASSASSIN, "-L", "-t"], input=data, capture_output=True, timeout=180, check=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},  # its user_prefs land in HOME
    )  # fmt: skip
    status = re.search(rb"^X-Spam-Status: \w+, score=(-?[\d.]+) required=[\d.]+\s+tests=([^\n]*(?:\n\t[^\n]*)*)",
                       result.stdout, re.MULTILINE)  # fmt: skip
    assert status is not None, result.stdout[:2000]
    rules = [r for r in re.split(rb"[,\s]+", status.group(2).split(b"autolearn=")[0]) if r]
    return float(status.group(1)), [r.decode() for r in rules]


@pytest.mark.parametrize("build", [digest_bytes, confirm_bytes, welcome_bytes], ids=["digest", "confirm", "welcome"])
def test_mail_scores_at_most_half_a_point_in_spamassassins_local_tests(
    composer: Composer, tmp_path: Path, build: object
) -> None:
    data = build(composer)  # type: ignore[operator]
    assert b"Content-Transfer-Encoding: 7bit" in data  # the HTML as it goes out: ASCII, unencoded
    score, rules = spam_report(data, tmp_path)
    assert score <= LIMIT, f"{score} points: {rules}"
    assert [r for r in rules if r.startswith(LAYOUT_RULES)] == []
    assert "HTML_MESSAGE" in rules  # the HTML part was seen and analysed, not skipped
