"""Email rendering: MJML compiled once into Jinja templates, filled per recipient (pure)."""

from service.rendering.compile import MjmlCompiler, TemplateError
from service.rendering.context import Sender, safe_url
from service.rendering.digest import (
    DigestContext,
    DigestLinks,
    DigestPaper,
    reason_text,
    render_digest,
)
from service.rendering.emails import render_confirm, render_welcome
from service.rendering.renderer import EmailRenderer, RenderedEmail, default_renderer

__all__ = [
    "DigestContext",
    "DigestLinks",
    "DigestPaper",
    "EmailRenderer",
    "MjmlCompiler",
    "RenderedEmail",
    "Sender",
    "TemplateError",
    "default_renderer",
    "reason_text",
    "render_confirm",
    "render_digest",
    "render_welcome",
    "safe_url",
]
