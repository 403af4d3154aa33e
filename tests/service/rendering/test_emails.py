from __future__ import annotations

import pytest

from config.settings import Settings
from service.rendering import (
    EmailRenderer,
    RenderedEmail,
    Sender,
    render_confirm,
    render_welcome,
)
from service.rendering.renderer import one_line
from tests.service.rendering.samples import SENDER

CONFIRM_URL = "https://papermail.test/confirm/TOKEN?x=1&y=2"


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer()


@pytest.fixture(scope="module")
def confirm(renderer: EmailRenderer) -> RenderedEmail:
    return render_confirm(
        recipient="bob@example.org", confirm_url=CONFIRM_URL, sender=SENDER, renderer=renderer
    )


@pytest.fixture(scope="module")
def welcome(renderer: EmailRenderer) -> RenderedEmail:
    return render_welcome(
        recipient="bob@example.org",
        preferences_url="https://papermail.test/preferences/P",
        unsubscribe_url="https://papermail.test/unsubscribe/U",
        sender=SENDER,
        topics=["Agents", "Efficient inference"],
        keywords=["KV cache", "speculative decoding"],
        schedule="every morning at 8:00 (Europe/Paris)",
        renderer=renderer,
    )


def test_confirm_carries_the_link_and_its_48_hour_validity(confirm: RenderedEmail) -> None:
    assert confirm.subject == "Confirm your subscription to papermail"
    assert 'href="https://papermail.test/confirm/TOKEN?x=1&amp;y=2"' in confirm.html  # escaped attribute
    assert CONFIRM_URL in confirm.text  # and verbatim in text
    assert "48 hours" in confirm.html and "48 hours" in confirm.text
    assert "Unsubscribe" not in confirm.html  # nothing to unsubscribe from yet


def test_welcome_points_to_preferences_and_unsubscribe(welcome: RenderedEmail) -> None:
    assert welcome.subject == "Welcome to papermail"
    for part in (welcome.html, " ".join(welcome.text.split())):
        assert "https://papermail.test/preferences/P" in part
        assert "https://papermail.test/unsubscribe/U" in part
        assert ("You follow Agents and Efficient inference, and the keywords “KV cache”, “speculative decoding”."
                in part)
        assert "every morning at 8:00 (Europe/Paris)" in part


def test_confirm_names_what_was_asked_for(renderer: EmailRenderer) -> None:
    email = render_confirm(recipient="bob@example.org", confirm_url=CONFIRM_URL, sender=SENDER,
                           topics=["Agents"], keywords=["diffusion"], renderer=renderer)
    for part in (email.html, " ".join(email.text.split())):
        assert "You follow Agents, and the keyword “diffusion”." in part
    bare = render_confirm(recipient="bob@example.org", confirm_url=CONFIRM_URL, sender=SENDER, renderer=renderer)
    assert "You follow" not in bare.html and "You follow" not in bare.text


@pytest.mark.parametrize("name", ["confirm", "welcome"])
def test_small_emails_are_complete_and_clean(
    name: str, confirm: RenderedEmail, welcome: RenderedEmail
) -> None:
    email = confirm if name == "confirm" else welcome
    for part in (email.html, email.text):
        assert "<mj-" not in part and "{{" not in part and "{%" not in part
        assert SENDER.postal_address in part
    assert email.preheader and email.preheader in email.html


def test_sender_from_settings_takes_the_display_name(settings: Settings) -> None:
    sender = Sender.from_settings(settings.model_copy(update={"mail_from": "Paper Digest <d@example.org>"}))
    assert sender.name == "Paper Digest" and sender.postal_address == settings.postal_address


def test_one_line_collapses_control_characters_and_cuts_on_a_word() -> None:
    assert one_line("a\r\nb\tc\x00d  ", 78) == "a b c d"
    assert one_line("alpha beta gamma delta", 15) == "alpha beta…"
    assert len(one_line("x" * 200, 78)) == 78


def test_text_wrap_keeps_urls_whole_and_indents_continuations() -> None:
    from service.rendering.environment import wrap

    url = "https://example.org/" + "x" * 80
    assert wrap(f"see {url} now", 20, 3) == f"see\n   {url}\n   now"
    assert wrap("a  b\n c", 72) == "a b c"
    assert all(len(line) <= 10 for line in wrap("one two three four five six", 10).splitlines())
