"""Browsing the papers: by day, week or month (``days``), by topic and by full-text search
(``listing``, ``search``), as the front page shows them (``browse``), one paper as a card
(``cards``) at its address (``slugs``), and the papers most like it (``similar``).

Pure where it can be (``days``, ``slugs``, ``cards``); the rest are queries that work on
SQLite and PostgreSQL alike.
"""
