"""The scrape: the processes' counters merged, and the gauges the database answers at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session

from app.enrollment.models import APPLICATION_STATUSES, Application
from app.notify.models import OutboxMessage

OUTBOX_BACKLOG_STATUSES = ("pending", "sending")


@dataclass(frozen=True)
class DatabaseFigures:
    applications_by_status: dict[str, int]
    outbox_backlog: int
    outbox_dead: int


def database_figures(session: Session) -> DatabaseFigures:
    """Two grouped counts: applications by status, and the outbox rows not yet sent (sent rows are skipped)."""
    by_status = dict.fromkeys(APPLICATION_STATUSES, 0)
    for status, count in session.execute(sa.select(Application.status, sa.func.count()).group_by(Application.status)):
        by_status[status] = count
    outbox: dict[str, int] = {}
    for status, count in session.execute(
        sa.select(OutboxMessage.status, sa.func.count())
        .where(OutboxMessage.status.in_((*OUTBOX_BACKLOG_STATUSES, "dead")))
        .group_by(OutboxMessage.status)
    ):
        outbox[status] = count
    return DatabaseFigures(
        applications_by_status=by_status,
        outbox_backlog=sum(outbox.get(status, 0) for status in OUTBOX_BACKLOG_STATUSES),
        outbox_dead=outbox.get("dead", 0),
    )


class _FiguresCollector(Collector):
    """Hands the figures of one scrape to a registry made for that scrape."""

    def __init__(self, figures: DatabaseFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        applications = GaugeMetricFamily(
            "ruhui_applications", "Applications by status (counted at scrape time).", labels=("status",)
        )
        for status, count in self.figures.applications_by_status.items():
            applications.add_metric((status,), count)
        yield applications
        yield GaugeMetricFamily(
            "ruhui_outbox_backlog", "Outbox messages not yet sent (pending or being sent).", self.figures.outbox_backlog
        )
        yield GaugeMetricFamily(
            "ruhui_outbox_dead", "Outbox messages given up after their last attempt.", self.figures.outbox_dead
        )


def render_metrics(session: Session, *, multiprocess_dir: str) -> bytes:
    """The Prometheus text exposition: counters and histograms of every worker, then the database's figures."""
    if multiprocess_dir:
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes, path=multiprocess_dir)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
    else:
        processes = REGISTRY
    figures = CollectorRegistry(auto_describe=False)
    figures.register(_FiguresCollector(database_figures(session)))
    return generate_latest(processes) + generate_latest(figures)
