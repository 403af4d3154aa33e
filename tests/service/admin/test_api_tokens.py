"""API tokens: shown once, stored as sha256 only, revocable."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from config.settings import Settings
from service.storage import migrate
from service.admin.api_tokens import TokenError, authenticate_token, create_token, revoke_token
from service.storage.db import session_scope
from service.storage.models import ApiToken

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


def test_create_authenticate_revoke(settings: Settings) -> None:
    migrate.upgrade(settings)
    with session_scope(settings) as session:
        row, token = create_token(session, "  crm   sync ", NOW)
        assert row.name == "crm sync"
        assert token.startswith("pm_") and len(token) > 40
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        token_id = row.id
    with session_scope(settings) as session:
        stored = session.get(ApiToken, token_id)
        assert stored is not None and token not in {stored.name, stored.token_hash}
        assert authenticate_token(session, token, NOW) is not None
        assert stored.last_used_at == NOW
        # Used again within a minute: no write for the timestamp.
        assert authenticate_token(session, token, NOW + timedelta(seconds=30)) is not None
        assert stored.last_used_at == NOW
        assert authenticate_token(session, token + "x", NOW) is None
        assert authenticate_token(session, token[3:], NOW) is None
    with session_scope(settings) as session:
        revoke_token(session, token_id, NOW)
    with session_scope(settings) as session:
        assert authenticate_token(session, token, NOW) is None
        assert revoke_token(session, 999, NOW) is None


def test_names_are_required(settings: Settings) -> None:
    migrate.upgrade(settings)
    with session_scope(settings) as session, pytest.raises(TokenError):
        create_token(session, "   ", NOW)
