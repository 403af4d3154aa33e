"""Offline demo data: bundled sample papers (Hugging Face Daily Papers JSON) and a subscriber cast."""
