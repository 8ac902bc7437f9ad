"""What an operator graphs and alerts on, in Prometheus' text format at /metrics.

Counters and histograms are updated where things happen; levels (queue depth, open
sockets) are read from the live objects at scrape time, so they cannot drift.
docs/operations.md says what each one means and which alerts to set.
"""

import hmac
import ipaddress

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
COMMIT_SECONDS = Histogram(
    "jb_commit_seconds", "Op-log insert of one commit group, until durable", buckets=FAST
)
GROUP_SIZE = Histogram(
    "jb_commit_group_size", "Submissions per commit group", buckets=(1, 2, 5, 10, 50, 100, 500)
)
INSERT_GROUPS = Histogram(
    "jb_insert_groups",
    "Commit groups, of any boards, that one op-log insert writes",
    buckets=(1, 2, 5, 10, 20, 50, 100),
)
STREAM_LAG = Histogram(
    "jb_change_stream_lag_seconds", "Commit (any instance) to its change event here", buckets=FAST
)
FANOUT_LAG = Histogram(
    "jb_fanout_lag_seconds",
    "Commit (any instance) to hand-off to sockets here",
    buckets=FAST,
)
STORE_RTT = Histogram("jb_store_rtt_seconds", "Round trip of a ping to the database", buckets=FAST)
STORE_UP = Gauge("jb_store_up", "1 if the last database ping answered, else 0")
REQUESTS = Counter("jb_http_requests_total", "HTTP requests answered", ["method", "status"])
REQUEST_SECONDS = Histogram("jb_http_request_seconds", "HTTP request latency", buckets=FAST)
ERRORS = Counter("jb_errors_total", "REST error answers by code", ["code"])
IMPORTS = Gauge("jb_imports_in_flight", "Feedback and event uploads being ingested")
# Levels read from the live rooms at scrape time (see server/app.py).
QUEUE_DEPTH = Gauge("jb_queue_depth", "Submissions waiting for a commit, all boards")
ROOMS = Gauge("jb_rooms_open", "Boards open on this instance")
SESSIONS = Gauge("jb_sessions", "Websocket sessions joined to a board")
LOCAL = {"127.0.0.1", "::1"}


def allowed(request: Request, token: str | None) -> bool:
    """With a metrics token, only its bearer; without one, only callers on this machine."""
    if token is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    host = request.client.host if request.client else ""
    return host in LOCAL or (host.startswith("::ffff:") and ipaddress.ip_address(host).is_loopback)


async def metrics(request: Request) -> Response:
    if not allowed(request, request.app.state.services.settings.metrics_token):
        return Response(status_code=404)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
