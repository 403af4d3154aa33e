"""The forms of "More like these papers" and "What papermail learned" on /preferences/{token}:
add seed papers (pasted or an uploaded BibTeX / RIS / Zotero CSV), pick among papers sharing a
title, remove a seed or a vote, and reset everything learned. Each is a POST with CSRF.

Adding answers with the preferences page itself (not a redirect), since what it says — the lines
that could not be read, the cap, the titles to choose between — belongs to that one submission.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from service.actions.seeds import SeedsAdded, add_seed_papers, add_seeds, remove_seed, reset_learned
from service.actions.votes import subscriber_actor, undo_vote
from service.storage.models import Subscriber
from service.subscribers.seed_refs import ParsedRefs, merge, parse_pasted, parse_upload
from service.subscribers.store import preferences_of
from service.web.public.context import check_csrf, linked_subscriber, public, read_form, text, writing
from service.web.public.forms import prefs_values
from service.web.public.preferences import load_subscriber, page_context
from service.web.templating import render

router = APIRouter()
T = TypeVar("T")

# A Zotero CSV with abstracts runs to a few kB per paper; 200 papers fit many times over.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
SHOWN_PROBLEMS = 50
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]  # beyond what the columns hold is a 422, not a 500


def _in_transaction(request: Request, token: str, action: Callable[[Session, Subscriber, str], T]) -> T:
    """Run ACTION on the token's reader in one write transaction (404 for a bad token)."""
    state = public(request)
    with writing(state) as session:
        subscriber, _ = linked_subscriber(session, state.settings, "preferences", token)
        return action(session, subscriber, subscriber_actor(subscriber.id))


def _report(parsed: ParsedRefs, added: SeedsAdded | None) -> dict[str, Any]:
    problems = [p.describe() for p in parsed.problems]
    return {
        "summary": added.summary() if added else None,
        "added": [r.ref for r in added.added] if added else [],
        "problems": problems[:SHOWN_PROBLEMS],
        "more_problems": max(0, len(problems) - SHOWN_PROBLEMS),
        "cap_message": parsed.cap_message,
        "ambiguous": added.ambiguous if added else [],
        "nothing": not parsed.refs and not parsed.problems,
    }


@router.post("/preferences/{token}/seeds")
async def add(request: Request, token: str) -> Response:
    form = await read_form(request, max_bytes=MAX_UPLOAD_BYTES, max_files=1)
    check_csrf(request, form, "seeds")
    parsed = parse_pasted(text(form, "refs"))
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        parsed = merge(parsed, parse_upload(upload.filename, await upload.read()))
    now = datetime.now(UTC)

    def run() -> dict[str, Any]:
        added = None
        if parsed.refs:
            added = _in_transaction(request, token, lambda s, sub, actor: add_seeds(s, sub, parsed.refs, actor, now))
        subscriber = load_subscriber(request, token)
        prefs = preferences_of(subscriber)
        report = _report(parsed, added)
        return page_context(request, subscriber, token, prefs_values(prefs, subscriber.email), {}, prefs,
                            seeds_result=report, seeds_text=text(form, "refs")[:20_000] if not parsed.refs else "")

    context = await run_in_threadpool(run)
    status = 422 if not parsed.refs else 200
    return render(request, "public/preferences.html", context, status_code=status)


def _paper_ids(values: list[Any]) -> list[int]:
    return [int(v) for v in values if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) < 19]


async def _post(request: Request, token: str, form_name: str, done: str,
                action: Callable[[Session, Subscriber, str], object]) -> Response:
    form = await read_form(request)
    check_csrf(request, form, form_name)
    await run_in_threadpool(_in_transaction, request, token, action)
    return RedirectResponse(f"/preferences/{token}?done={done}#learned", status_code=303)


@router.post("/preferences/{token}/seeds/choose")
async def choose(request: Request, token: str) -> Response:
    form = await read_form(request)
    check_csrf(request, form, "seeds-choose")
    ids, now = _paper_ids(form.getlist("paper")), datetime.now(UTC)
    await run_in_threadpool(_in_transaction, request, token,
                            lambda s, sub, actor: add_seed_papers(s, sub, ids, actor, now))
    return RedirectResponse(f"/preferences/{token}?done=seeds-chosen#learned", status_code=303)


@router.post("/preferences/{token}/seeds/{seed_id}/remove")
async def remove(request: Request, token: str, seed_id: RowId) -> Response:
    return await _post(request, token, "seed-remove", "seed-removed",
                       lambda s, sub, actor: remove_seed(s, sub, seed_id, actor))


@router.post("/preferences/{token}/votes/{paper_id}/remove")
async def remove_vote(request: Request, token: str, paper_id: RowId) -> Response:
    return await _post(request, token, "vote-remove", "vote-removed",
                       lambda s, sub, actor: undo_vote(s, sub, paper_id, actor))


@router.post("/preferences/{token}/learned/reset")
async def reset(request: Request, token: str) -> Response:
    return await _post(request, token, "reset-learned", "reset",
                       lambda s, sub, actor: reset_learned(s, sub, actor))
