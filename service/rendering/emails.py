"""The small emails: each is the context it needs, rendered by the shared renderer."""

from __future__ import annotations

from collections.abc import Sequence

from service.rendering.context import Sender, footer
from service.rendering.renderer import EmailRenderer, RenderedEmail, default_renderer

CONFIRM_VALID_HOURS = 48


def interests_line(topics: Sequence[str], keywords: Sequence[str]) -> str:
    """What the reader follows, in words: "You follow Agents and Efficient inference, and the
    keywords “diffusion”, “KV cache”." Empty when they chose nothing (they get what is trending)."""
    parts = []
    if topics:
        parts.append(_listed(list(topics)))
    if keywords:
        quoted = ", ".join(f"“{k}”" for k in keywords)
        parts.append(f"the keyword{'' if len(keywords) == 1 else 's'} {quoted}")
    return f"You follow {', and '.join(parts)}." if parts else ""


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def render_confirm(
    *,
    recipient: str,
    confirm_url: str,
    sender: Sender,
    valid_hours: int = CONFIRM_VALID_HOURS,
    topics: Sequence[str] = (),  # display names, not slugs
    keywords: Sequence[str] = (),
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
        "interests": interests_line(topics, keywords),
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
    topics: Sequence[str] = (),  # display names, not slugs
    schedule: str = "",  # e.g. "every morning at 8:00 (Europe/Paris)"
    keywords: Sequence[str] = (),
    renderer: EmailRenderer | None = None,
) -> RenderedEmail:
    why = f"You get this email because {recipient} confirmed a subscription to {sender.name}."
    context = {
        "recipient": recipient,
        "preferences_url": preferences_url,
        "topics": list(topics),
        "interests": interests_line(topics, keywords),
        "schedule": schedule,
        "preheader": "Your subscription is confirmed. Pick your topics to tune your digests.",
        **footer(sender, why, [("Preferences", preferences_url), ("Unsubscribe", unsubscribe_url)]),
    }
    return (renderer or default_renderer()).render("welcome", context)
