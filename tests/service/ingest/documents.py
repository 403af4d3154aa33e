"""Small hand-made source documents for ingestion tests: the same paper as HF and arXiv see it."""

from __future__ import annotations

import json


def hf_item(arxiv_id: str, title: str, upvotes: int, summary: str = "We quantize large language models.",
            day: str = "2026-11-26", **paper: object) -> dict:
    """One item of an HF daily list for DAY (its ``submittedOnDailyAt``); PAPER overrides fields."""
    return {
        "paper": {
            "id": arxiv_id,
            "title": title,
            "summary": summary,
            "authors": [{"name": "Ada Lovelace"}, {"name": "Alan Turing"}],
            "publishedAt": "2026-11-25T00:00:00.000Z",
            "submittedOnDailyAt": f"{day}T00:00:00.000Z",
            "upvotes": upvotes,
            "githubRepo": "https://github.com/example/quant",
            **paper,
        },
        "organization": {"name": "example", "fullname": "Example Lab"},
        "numComments": 3,
    }


def hf_json(*items: dict) -> bytes:
    return json.dumps(list(items)).encode()


def arxiv_atom(arxiv_id: str, version: int, title: str, abstract: str = "We quantize large language models to 2 bits.") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <id>https://arxiv.org/api/x</id><title>arXiv Query</title><updated>2026-11-26T00:00:00Z</updated>
  <entry>
    <id>http://arxiv.org/abs/{arxiv_id}v{version}</id>
    <title>{title}</title>
    <updated>2026-11-26T00:00:00Z</updated>
    <published>2026-11-25T00:00:00Z</published>
    <summary>{abstract}</summary>
    <author><name>Ada Lovelace</name></author>
    <author><name>Alan Turing</name></author>
    <author><name>Grace Hopper</name></author>
    <link href="https://arxiv.org/abs/{arxiv_id}v{version}" rel="alternate" type="text/html"/>
    <link href="https://arxiv.org/pdf/{arxiv_id}v{version}" rel="related" type="application/pdf" title="pdf"/>
    <arxiv:primary_category term="cs.LG"/>
    <category term="cs.LG"/><category term="cs.CL"/>
  </entry>
</feed>""".encode()


def arxiv_rss(*items: tuple[str, str, str]) -> bytes:
    """ITEMS are (arxiv id, announce type, title)."""
    body = "".join(
        f"""<item><title>{title}</title><link>https://arxiv.org/abs/{aid}</link>
<description>arXiv:{aid}v2 Announce Type: {kind} 
Abstract: We quantize large language models.</description>
<guid isPermaLink="false">oai:arXiv.org:{aid}v2</guid><category>cs.LG</category>
<pubDate>Thu, 26 Nov 2026 00:00:00 -0500</pubDate><arxiv:announce_type>{kind}</arxiv:announce_type>
<dc:creator>Ada Lovelace, Alan Turing</dc:creator></item>"""
        for aid, kind, title in items
    )
    return f"""<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">
<channel><title>cs.LG updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.LG</link>
<description>cs.LG updates</description>{body}</channel></rss>""".encode()
