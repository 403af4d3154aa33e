"""/admin/import and /admin/export.csv: CSV in (a dry run with a row-by-row report first, then
the import, streamed with its progress) and CSV out (streamed).

The uploaded file waits under DATA_DIR/imports between the dry run and the admin's "import"
(an unguessable name; gone after the import, or after a day if never confirmed).
"""

from __future__ import annotations

import queue
import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from markupsafe import Markup, escape
from starlette.datastructures import UploadFile

from config.settings import Settings
from service.actions.subscribers import import_subscribers, note_export
from service.storage.db import session_scope
from service.subscribers.csv_format import COLUMNS, CsvFormatError, export_lines, parse_rows
from service.subscribers.csv_import import ConfirmHook, ImportReport
from service.topics.store import current_taxonomy
from service.web.admin.auth import AdminRoute, requires
from service.web.admin.forms import form_of, text
from service.web.admin.responses import NAV, message, page
from service.web.admin.state import admin_of, now, settings_of, state
from service.web.security import CSRF_FIELD

router = APIRouter(prefix="/admin", route_class=AdminRoute, include_in_schema=False)
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
KEEP_UPLOADS_SECONDS = 24 * 3600
ISSUES_SHOWN = 1000
PROGRESS_EVERY = 1000


def uploads_dir(settings: Settings) -> Path:
    return settings.data_dir / "imports"


def store_upload(settings: Settings, upload: UploadFile) -> str:
    folder = uploads_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):  # abandoned dry runs
        if time.time() - old.stat().st_mtime > KEEP_UPLOADS_SECONDS:
            old.unlink(missing_ok=True)
    upload_id = secrets.token_hex(16)
    with (folder / f"{upload_id}.csv").open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            out.write(chunk)
    return upload_id


def run_import(settings: Settings, path: Path, *, confirmed: bool, dry_run: bool, actor: str,
               confirm: ConfirmHook | None = None, on_row: Any = None, update: bool = False) -> ImportReport:
    """CsvFormatError when the file as a whole is unusable."""
    with session_scope(settings) as session:
        topics = set(current_taxonomy(session).slugs)
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        rows = parse_rows(handle, topics, settings.default_timezone)
        return import_subscribers(settings, rows, confirmed=confirmed, dry_run=dry_run, now=now(), actor=actor,
                                  source_name="admin upload", on_row=on_row, confirm=confirm, update=update)


@router.get("/import")
@requires("export")  # the import and export page: a viewer neither imports nor exports
def import_form(request: Request) -> Response:
    return page(request, "imports/form.html", {"page_title": "Import and export", "columns": COLUMNS, "error": ""},
                section="import")


@router.post("/import/check")
def check(request: Request) -> Response:
    form = form_of(request)
    upload, mode = form.get("file"), text(form, "mode")
    update = text(form, "update") == "yes"
    error = ""
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = "Choose a CSV file to upload."
    elif mode not in ("pending", "confirmed"):
        error = "Choose how the new subscribers are imported."
    elif mode == "confirmed" and text(form, "consent") != "yes":
        error = "Importing as confirmed needs your word that every address consented."
    if error:
        return page(request, "imports/form.html", {"page_title": "Import and export", "columns": COLUMNS,
                                                   "error": error}, section="import", status_code=400)
    settings = settings_of(request)
    upload_id = store_upload(settings, upload)  # type: ignore[arg-type]
    path = uploads_dir(settings) / f"{upload_id}.csv"
    try:
        report = run_import(settings, path, confirmed=mode == "confirmed", dry_run=True, actor=admin_of(request).actor,
                            update=update)
    except CsvFormatError as exc:
        path.unlink(missing_ok=True)
        return page(request, "imports/form.html", {"page_title": "Import and export", "columns": COLUMNS,
                                                   "error": f"This file cannot be imported: {exc}."},
                    section="import", status_code=400)
    context = {"page_title": "Import: dry run", "report": report, "issues": report.issues[:ISSUES_SHOWN],
               "upload_id": upload_id, "mode": mode, "update": update,
               "filename": upload.filename}  # type: ignore[union-attr]
    return page(request, "imports/report.html", context, section="import")


class Progress:
    """Runs the import on a thread, handing its progress to the streamed page as it goes."""

    def __init__(self, settings: Settings, path: Path, confirmed: bool, actor: str, confirm: ConfirmHook | None,
                 update: bool = False):
        self.settings, self.path, self.confirmed, self.actor, self.confirm = settings, path, confirmed, actor, confirm
        self.update = update
        self.report: ImportReport | None = None
        self.error = ""

    def lines(self) -> Iterator[str]:
        updates: queue.Queue[int | None] = queue.Queue()

        def work() -> None:
            try:
                self.report = run_import(
                    self.settings, self.path, confirmed=self.confirmed, dry_run=False, actor=self.actor,
                    confirm=self.confirm, update=self.update,
                    on_row=lambda line: updates.put(line) if line % PROGRESS_EVERY == 0 else None)
            except CsvFormatError as exc:
                self.error = str(exc)
            except Exception as exc:  # noqa: BLE001 - shown on the page; the batches before it stay imported
                self.error = f"the import stopped: {type(exc).__name__}: {exc}"
            finally:
                self.path.unlink(missing_ok=True)
                updates.put(None)

        threading.Thread(target=work, name="admin-import", daemon=True).start()
        while (line := updates.get()) is not None:
            yield f"{line:,} lines read"


@router.post("/import/run")
def run(request: Request) -> Response:
    form = form_of(request)
    upload_id, mode = text(form, "upload"), text(form, "mode")
    settings = settings_of(request)
    path = uploads_dir(settings) / f"{upload_id}.csv"
    if not UPLOAD_ID.fullmatch(upload_id) or mode not in ("pending", "confirmed") or not path.is_file():
        return message(request, 404, "Upload not found", "That upload was imported already or has expired; "
                                                          "upload the file again.")
    queue_ = state(request).queue
    progress = Progress(settings, path, mode == "confirmed", admin_of(request).actor,
                        None if mode == "confirmed" else queue_.send_confirmations,
                        update=text(form, "update") == "yes")
    csrf = request.app.state.csrf
    token = escape(csrf.token(request, "admin"))
    context = {"page_title": "Import", "progress": progress, "admin": admin_of(request), "section": "import",
               "notice": None, "nav": NAV,
               "csrf_field": lambda form_name: Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">')}
    template = request.app.state.templates.env.get_template("admin/imports/run.html")
    return StreamingResponse(template.generate(context), media_type="text/html; charset=utf-8",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


@router.get("/export.csv")
@requires("export")
def export(request: Request) -> Response:
    settings = settings_of(request)
    with session_scope(settings) as session:
        note_export(session, actor=admin_of(request).actor)

    def lines() -> Iterator[str]:
        with session_scope(settings) as session:
            yield from export_lines(session)

    name = f"papermail-subscribers-{now():%Y%m%d}.csv"
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"})
