"""Prometheus metrics: the instruments the app counts with, and what ``/metrics`` serves.

The instruments live here, importing no feature, so any feature can count without a cycle.
What changes on every request or event is a counter or a histogram in the process that saw it;
under gunicorn each worker writes them to files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's
multiprocess mode, chosen by the library when the variable is set before it is imported) and the
scrape merges them. What the database already knows (applications by status, the outbox's backlog)
is a gauge computed at scrape time by one grouped query each (``app.metrics.service``): exact across
processes and restarts, and costing nothing per request.

Labels are bounded: a request is labelled with its Flask endpoint name (``joincodes.JoinResolve``),
never its path, so no token or id reaches a label.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

UNMATCHED_ENDPOINT = "unmatched"  # no URL rule matched (404, 405): the path is not a label

HTTP_REQUESTS = Counter(
    "ruhui_http_requests_total",
    "HTTP requests answered, by Flask endpoint, method and status code.",
    ("endpoint", "method", "status"),
)
HTTP_REQUEST_SECONDS = Histogram(
    "ruhui_http_request_duration_seconds",
    "Time from the first to the last of the app's request hooks, by Flask endpoint.",
    ("endpoint",),
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
SMS_SENT = Counter(
    "ruhui_sms_sent_total",
    "SMS accepted by the gateway, by provider and template.",
    ("provider", "template"),
)
SMS_REFUSED = Counter(
    "ruhui_sms_refused_total",
    "SMS not sent: refused by the gateway (throttled, recipient_rejected, unavailable) "
    "or by our own limits (rate_limited, daily_budget).",
    ("reason",),
)
JOIN_SCANS = Counter(
    "ruhui_join_scans_total",
    "Join-code scans answered; counted=no when a bound left the scan out of the figures.",
    ("counted",),
)


# The labelled children, looked up once each: ``labels()`` validates and locks on every call.
_REQUEST_COUNTERS: dict[tuple[str, str, int], Any] = {}
_REQUEST_TIMERS: dict[str, Any] = {}


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """Count one answered request (called from the request hooks of ``app.observability``)."""
    label = endpoint or UNMATCHED_ENDPOINT
    counter = _REQUEST_COUNTERS.get((label, method, status))
    if counter is None:
        counter = _REQUEST_COUNTERS[(label, method, status)] = HTTP_REQUESTS.labels(label, method, str(status))
    timer = _REQUEST_TIMERS.get(label)
    if timer is None:
        timer = _REQUEST_TIMERS[label] = HTTP_REQUEST_SECONDS.labels(label)
    counter.inc()
    timer.observe(seconds)
