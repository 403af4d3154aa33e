"""SettingsError apart from Settings: the command line catches it without importing pydantic."""

from __future__ import annotations


class SettingsError(Exception):
    """A setting has a bad value: one line, naming the setting."""
