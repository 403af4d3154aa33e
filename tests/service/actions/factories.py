"""A few rows for the vote and seed actions: papers, a reader, a digest that sent some papers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.storage.models import AuditLog, Delivery, Paper, Subscriber

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


def paper(session: Session, arxiv_id: str | None, title: str) -> Paper:
    row = Paper(uid=f"arxiv:{arxiv_id}" if arxiv_id else f"feed:{title}", arxiv_id=arxiv_id, title=title,
                abstract="", authors=["A. Author"], categories=[], first_seen_at=NOW, updated_at=NOW)
    session.add(row)
    session.flush()
    return row


def reader(session: Session, email: str = "alice@example.org") -> Subscriber:
    row = Subscriber(email=email, status="active", confirmed_at=NOW, created_at=NOW, updated_at=NOW)
    session.add(row)
    session.flush()
    return row


def sent(session: Session, subscriber: Subscriber, *papers: Paper, period: str = "2026-11-26") -> Delivery:
    delivery = Delivery(subscriber_id=subscriber.id, period=period, status="sent", sent_at=NOW,
                        paper_count=len(papers), paper_ids=[p.id for p in papers], reasons=[{} for _ in papers])
    session.add(delivery)
    session.flush()
    return delivery


def audit_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0
