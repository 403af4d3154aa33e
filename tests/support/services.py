"""Reaching the machine's real PostgreSQL and Redis (standard local ports, trust auth)."""

from __future__ import annotations

import socket

import psycopg
from psycopg import sql

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
PG_ADMIN_URL = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
REDIS_HOST_PORT = "127.0.0.1:6379"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def pg_available() -> bool:
    if not _port_open(PG_HOST, PG_PORT):
        return False
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def redis_available() -> bool:
    import redis

    host, port = REDIS_HOST_PORT.split(":")
    try:
        return bool(redis.Redis(host=host, port=int(port), socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def create_pg_database(name: str) -> str:
    """Create database NAME; return its SQLAlchemy URL."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def drop_pg_database(name: str) -> None:
    from service.storage.db import dispose_engines

    # Pooled connections of this process would keep the database busy.
    dispose_engines()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
