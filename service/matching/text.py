"""Kept for importers of the old name: the term rules live in :mod:`service.matching.terms`."""

from __future__ import annotations

from service.matching.terms import JOINERS, Term, Tokens, fold, normalise_author, parse_term, tokenize

__all__ = ["JOINERS", "Term", "Tokens", "fold", "normalise_author", "parse_term", "tokenize"]
