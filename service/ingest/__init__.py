"""Ingestion: fetched bytes → parsed ``PaperIn`` records → merged ``papers`` rows with topics.

``merge`` is pure (which fields a source may set), ``store`` writes a batch in one transaction,
``poll`` is the edge that fetches a configured source and keeps its state, ``health`` judges it.
"""
