"""From submitted form fields to validated Preferences, with one message per bad field (pure).

Lists are typed as text: keywords and exclusions separated by commas or semicolons (a quoted
``"mixture of experts"`` is one exact phrase), authors one per line or separated by semicolons
(an author may be written "Doe, J.").
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import ImmutableMultiDict, UploadFile

from service.subscribers.preferences import Preferences, split_terms

# A posted form (FormData) or a query string (QueryParams, the live preview's).
Fields = ImmutableMultiDict[str, UploadFile | str]

# Far above any real list (50 terms of 100 characters), far below a flood.
MAX_FIELD_CHARS = 6000
INT_FIELDS = {"send_hour": (0, 23), "max_papers": (1, 50), "min_upvotes": (0, 1_000_000)}
CHOICE_FIELDS = ("frequency", "weekly_day", "timezone")
LABELS = {
    "email": "Email address",
    "topics": "Topics",
    "keywords": "Keywords",
    "exclude": "Exclude",
    "authors": "Authors",
    "frequency": "How often",
    "weekly_day": "Day of the week",
    "send_hour": "Send hour",
    "timezone": "Time zone",
    "max_papers": "Papers per digest",
    "min_upvotes": "Trending threshold",
}


class FormErrors(Exception):
    """Field name → message, for the page to show next to each field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{LABELS.get(k, k)}: {v}" for k, v in errors.items()))
        self.errors = errors


def _value(form: Fields, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def keyword_list(raw: str) -> list[str]:
    return split_terms([raw.replace(",", ";")])


def author_list(raw: str) -> list[str]:
    return split_terms([raw.replace("\r", "").replace("\n", ";")])


def preferences_from_form(
    form: Fields, known_topics: Collection[str], base: Preferences, *, has_topics: bool = True
) -> Preferences:
    """BASE with every field the form sent replaced. HAS_TOPICS: the form shows the topic
    checkboxes, so none ticked means no topics (unticked boxes send nothing at all)."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = base.model_dump()
    if has_topics:
        data["topics"] = [t for t in form.getlist("topics") if isinstance(t, str)]
    for name, splitter in (("keywords", keyword_list), ("exclude", keyword_list), ("authors", author_list)):
        raw = _value(form, name)
        if raw is None:
            continue
        if len(raw) > MAX_FIELD_CHARS:
            errors[name] = f"is {len(raw):,} characters long; keep it under {MAX_FIELD_CHARS:,}"
            continue
        data[name] = splitter(raw)
    for name, (low, high) in INT_FIELDS.items():
        raw = _value(form, name)
        if raw is None:
            continue
        try:
            data[name] = int(raw.strip())
        except ValueError:
            errors[name] = f"must be a whole number from {low} to {high}"
    for name in CHOICE_FIELDS:
        raw = _value(form, name)
        if raw is not None:
            data[name] = raw.strip()[:100]
    try:
        prefs = Preferences.model_validate(data, context={"topics": set(known_topics)})
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "preferences"
            errors.setdefault(name, _message(error))
        raise FormErrors(errors) from None
    if errors:
        raise FormErrors(errors)
    return prefs


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "literal_error":
        return "is not one of the choices offered"
    if error["type"] in ("greater_than_equal", "less_than_equal"):
        return message.replace("Input should be", "must be")
    if error["type"] == "too_long":
        return message.replace("Tuple should have", "can have").replace("List should have", "can have")
    return message


def form_values(form: Fields) -> dict[str, Any]:
    """The submitted values, to fill the form again after an error (never re-parsed)."""
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    values["topics"] = [t for t in form.getlist("topics") if isinstance(t, str)]
    return values


def prefs_values(prefs: Preferences, email: str = "") -> dict[str, Any]:
    """Stored preferences as form values."""
    return {
        "email": email,
        "topics": list(prefs.topics),
        "keywords": ", ".join(f'"{k}"' if "," in k else k for k in prefs.keywords),
        "exclude": ", ".join(f'"{k}"' if "," in k else k for k in prefs.exclude),
        "authors": "\n".join(prefs.authors),
        "frequency": prefs.frequency,
        "weekly_day": prefs.weekly_day,
        "send_hour": str(prefs.send_hour),
        "timezone": prefs.timezone,
        "max_papers": str(prefs.max_papers),
        "min_upvotes": str(prefs.min_upvotes),
    }
