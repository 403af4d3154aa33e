"""The "you are already subscribed" mail (someone signed up with a subscribed address) and its
twin, "your new links" (the subscriber asked for fresh links): one template, two reasons."""

from __future__ import annotations

from typing import Literal

from service.rendering.context import Sender, footer
from service.rendering.renderer import EmailRenderer, RenderedEmail, default_renderer

AlreadyReason = Literal["already", "links"]


def render_already(
    *,
    recipient: str,
    preferences_url: str,
    unsubscribe_url: str,
    sender: Sender,
    reason: AlreadyReason = "already",
    paused: bool = False,
    renderer: EmailRenderer | None = None,
) -> RenderedEmail:
    if reason == "links":
        why = f"You get this email because new links for {recipient} were requested on {sender.name}."
        preheader = "Fresh links to manage your digests; the old ones no longer work."
    else:
        why = (
            f"You get this email because {recipient} was entered on the {sender.name} sign-up form. "
            "If that was not you, ignore it: nothing changed."
        )
        preheader = "This address already receives digests. Manage your preferences here."
    context = {
        "recipient": recipient,
        "preferences_url": preferences_url,
        "reason": reason,
        "paused": paused,
        "preheader": preheader,
        **footer(sender, why, [("Preferences", preferences_url), ("Unsubscribe", unsubscribe_url)]),
    }
    return (renderer or default_renderer()).render("already", context)
