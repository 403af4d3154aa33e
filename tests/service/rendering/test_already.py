"""The "already subscribed" / "new links" mail: both parts, the right words, links escaped."""

from __future__ import annotations

from service.rendering import Sender
from service.rendering.already import render_already

SENDER = Sender(name="papermail", postal_address="1 Example Street")
PREFS = "https://papermail.example/preferences/abc?x=1&y=2"
UNSUB = "https://papermail.example/unsubscribe/abc"


def test_already_subscribed() -> None:
    email = render_already(recipient="bob@example.org", preferences_url=PREFS, unsubscribe_url=UNSUB, sender=SENDER)
    assert email.subject == "You're already subscribed to papermail"
    assert "already receives digests" in email.text and PREFS in email.text and UNSUB in email.text
    assert "x=1&amp;y=2" in email.html and "Manage your preferences" in email.html
    assert "1 Example Street" in email.text


def test_new_links_and_paused() -> None:
    links = render_already(recipient="bob@example.org", preferences_url=PREFS, unsubscribe_url=UNSUB,
                           sender=SENDER, reason="links")
    assert links.subject == "Your new papermail links"
    assert "no longer work" in links.text
    paused = render_already(recipient="bob@example.org", preferences_url=PREFS, unsubscribe_url=UNSUB,
                            sender=SENDER, paused=True)
    assert "(paused at the moment)" in paused.text
