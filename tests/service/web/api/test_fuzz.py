"""Schemathesis against the OpenAPI document, in-process on the ASGI app with a valid token:
no 500, no status, header or body outside the schema, and no schema-invalid request accepted,
on every /api/v1 operation, with data that fits the schema and data that does not, on both
databases. Bounded: a few examples per operation and mode (FUZZ_EXAMPLES=200 for a longer run).

Hypothesis is driven directly (operation.as_strategy) rather than through schemathesis'
pytest plugin, whose parametrisation does not run under pytest 9.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.storage import migrate
from service.storage.db import dispose_engines
from service.web.app import create_app
from tests.conftest import make_settings
from tests.service.web.api.conftest import new_token
from tests.support.services import create_pg_database, drop_pg_database

pytestmark = pytest.mark.integration  # the PostgreSQL half
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api_schema(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[object, str]]:
    """The app's schema, on each database (PostgreSQL refuses NUL characters SQLite stores)."""
    data_dir = Path(tmp_path_factory.mktemp("fuzz")) / "var"
    name = f"papermail_fuzz_{os.getpid()}_{secrets.token_hex(3)}"
    if request.param == "postgresql":
        request.getfixturevalue("pg_server")
        app_settings = make_settings(data_dir, database_url=create_pg_database(name))
    else:
        app_settings = make_settings(data_dir)
    migrate.upgrade(app_settings)
    token = new_token(app_settings, "fuzz")[1]
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(app_settings))
    yield schema.include(path_regex=r"^/api/v1/"), token
    if request.param == "postgresql":
        dispose_engines()
        drop_pg_database(name)


def operations(schema: object) -> list[object]:
    return [result.ok() for result in schema.get_all_operations()]  # type: ignore[attr-defined]


def test_every_api_operation_is_fuzzed(api_schema: tuple[object, str]) -> None:
    assert len(operations(api_schema[0])) >= 20


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(api_schema: tuple[object, str], mode: GenerationMode) -> None:
    schema, token = api_schema
    headers = {"Authorization": f"Bearer {token}"}
    for operation in operations(schema):

        @given(case=operation.as_strategy(generation_mode=mode))  # type: ignore[attr-defined]
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            # A valid token unless the header itself is what this case negates (then the
            # garbage or missing header is sent as generated, and must get a 401).
            negated = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
            if negated is None or negated.mode is GenerationMode.POSITIVE:
                case.headers = {**(case.headers or {}), **headers}
            # Every check but "schema-valid data is accepted": the schema cannot say which topics,
            # time zones or addresses exist, so a well-formed body may still earn a 422.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        run()
