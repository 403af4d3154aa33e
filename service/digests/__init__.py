"""Digests: plan (who is due, claim their delivery rows) and deliver (match, render, send)."""
