"""Settings from the environment, with defaults that are the published limits."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

from server.board.limits import Limits


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an operator can tune; README 'Configuration' lists each variable."""

    host: str = "127.0.0.1"
    port: int = 8000
    mongodb_uri: str | None = None
    database: str = "journeyboard"
    data_dir: Path = Path(".journeyboard")
    max_body_bytes: int = 4 * 1024 * 1024
    max_upload_bytes: int = 2 * 1024**3
    max_page_size: int = 100
    connect_timeout_ms: int = 10_000
    snapshot_every: int = 50
    log_document_bytes: int = 8 * 1024 * 1024  # entries per op-log document: MongoDB takes 16 MiB
    limits: Limits = Limits()
    requests_per_second_per_ip: float = 100.0
    requests_burst_per_ip: float = 200.0
    requests_per_second_per_token: float = 50.0
    requests_burst_per_token: float = 100.0
    auth_failures_per_minute: int = 10
    session_days: int = 7
    max_pending_per_board: int = 1000
    ws_ops_per_second: float = 50.0
    ws_ops_burst: float = 100.0
    ws_flood_seconds: float = 10.0
    ws_max_queued_messages: int = 1000
    ws_max_queued_bytes: int = 1024 * 1024
    ws_max_message_bytes: int = 64 * 1024
    ws_max_frame_bytes: int = 1024 * 1024
    ws_connections_per_user: int = 20
    heartbeat_interval: float = 10.0
    heartbeat_timeout: float = 25.0
    auth_timeout: float = 5.0
    presence_hz: float = 20.0
    allowed_origins: tuple[str, ...] = ()
    log_format: Literal["json", "text"] = "json"
    log_level: str = "info"
    metrics_token: str | None = None
    max_connections: int = 2000
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    drain_seconds: float = 3.0
    forwarded_allow_ips: str = "127.0.0.1"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Settings from the variables in ENVIRONMENT; a bad value names its field."""
        env = os.environ if env is None else env
        values: dict[str, object] = {f: env[v] for f, v in ENVIRONMENT.items() if env.get(v)}
        if "allowed_origins" in values:
            values["allowed_origins"] = [o for o in str(values["allowed_origins"]).split(",") if o]
        return msgspec.convert(values, cls, strict=False, dec_hook=_path)


def _path(kind: type, value: object) -> Path:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(kind)


# Each setting an operator may change, and the environment variable that changes it.
ENVIRONMENT = {
    "host": "HOST",
    "port": "PORT",
    "mongodb_uri": "MONGODB_URI",
    "database": "JOURNEYBOARD_DB",
    "data_dir": "JOURNEYBOARD_DATA",
    "max_body_bytes": "JOURNEYBOARD_MAX_BODY_BYTES",
    "max_upload_bytes": "JOURNEYBOARD_MAX_UPLOAD_BYTES",
    "connect_timeout_ms": "JOURNEYBOARD_STORE_TIMEOUT_MS",
    "requests_per_second_per_ip": "JOURNEYBOARD_RATE_PER_IP",
    "requests_per_second_per_token": "JOURNEYBOARD_RATE_PER_TOKEN",
    "auth_failures_per_minute": "JOURNEYBOARD_AUTH_FAILURES_PER_MINUTE",
    "ws_ops_per_second": "JOURNEYBOARD_WS_OPS_PER_SECOND",
    "ws_ops_burst": "JOURNEYBOARD_WS_OPS_BURST",
    "ws_connections_per_user": "JOURNEYBOARD_WS_CONNECTIONS_PER_USER",
    "allowed_origins": "JOURNEYBOARD_ORIGINS",
    "log_format": "JOURNEYBOARD_LOG_FORMAT",
    "log_level": "JOURNEYBOARD_LOG_LEVEL",
    "metrics_token": "JOURNEYBOARD_METRICS_TOKEN",
    "max_connections": "JOURNEYBOARD_MAX_CONNECTIONS",
    "header_timeout": "JOURNEYBOARD_HEADER_TIMEOUT",
    "body_timeout": "JOURNEYBOARD_BODY_TIMEOUT",
    "keep_alive_timeout": "JOURNEYBOARD_KEEP_ALIVE_TIMEOUT",
    "drain_seconds": "JOURNEYBOARD_DRAIN_SECONDS",
    "forwarded_allow_ips": "JOURNEYBOARD_FORWARDED_ALLOW_IPS",
}
