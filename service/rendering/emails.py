"""The small emails: each is the context it needs, rendered by the shared renderer."""

from __future__ import annotations

from collections.abc import Sequence

from service.rendering.context import Sender, footer
from service.rendering.renderer import EmailRenderer, RenderedEmail, default_renderer

CONFIRM_VALID_HOURS = 48


def render_confirm(
    *,
    recipient: str,
    confirm_url: str,
    sender: Sender,
    valid_hours: int = CONFIRM_VALID_HOURS,
    renderer: EmailRenderer | None = None,
) -> RenderedEmail:
    why = (
        f"You get this email because {recipient} was entered on the {sender.name} sign-up form. "
        "If that was not you, ignore it: nothing is sent unless the address is confirmed."
    )
    context = {
        "recipient": recipient,
        "confirm_url": confirm_url,
        "valid_hours": valid_hours,
        "preheader": f"One click to start receiving AI paper digests (link valid {valid_hours} hours).",
        **footer(sender, why, []),
    }
    return (renderer or default_renderer()).render("confirm", context)


def render_welcome(
    *,
    recipient: str,
    preferences_url: str,
    unsubscribe_url: str,
    sender: Sender,
    topics: Sequence[str] = (),
    schedule: str = "",  # e.g. "every morning at 8:00 (Europe/Paris)"
    renderer: EmailRenderer | None = None,
) -> RenderedEmail:
    why = f"You get this email because {recipient} confirmed a subscription to {sender.name}."
    context = {
        "recipient": recipient,
        "preferences_url": preferences_url,
        "topics": list(topics),
        "schedule": schedule,
        "preheader": "Your subscription is confirmed. Pick your topics to tune your digests.",
        **footer(sender, why, [("Preferences", preferences_url), ("Unsubscribe", unsubscribe_url)]),
    }
    return (renderer or default_renderer()).render("welcome", context)
