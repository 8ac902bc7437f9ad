"""Settings from the environment, with defaults that are the published limits."""

import os
from pathlib import Path

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
    max_page_size: int = 100
    connect_timeout_ms: int = 10_000
    snapshot_every: int = 50
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

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        defaults = cls()
        return cls(
            host=env.get("HOST", defaults.host),
            port=int(env.get("PORT", defaults.port)),
            mongodb_uri=env.get("MONGODB_URI") or None,
            database=env.get("JOURNEYBOARD_DB", defaults.database),
            data_dir=Path(env.get("JOURNEYBOARD_DATA", defaults.data_dir)),
            max_body_bytes=int(env.get("JOURNEYBOARD_MAX_BODY_BYTES", defaults.max_body_bytes)),
            requests_per_second_per_ip=float(
                env.get("JOURNEYBOARD_RATE_PER_IP", defaults.requests_per_second_per_ip)
            ),
            requests_per_second_per_token=float(
                env.get("JOURNEYBOARD_RATE_PER_TOKEN", defaults.requests_per_second_per_token)
            ),
            ws_ops_per_second=float(
                env.get("JOURNEYBOARD_WS_OPS_PER_SECOND", defaults.ws_ops_per_second)
            ),
            ws_ops_burst=float(env.get("JOURNEYBOARD_WS_OPS_BURST", defaults.ws_ops_burst)),
            ws_connections_per_user=int(
                env.get("JOURNEYBOARD_WS_CONNECTIONS_PER_USER", defaults.ws_connections_per_user)
            ),
            allowed_origins=tuple(o for o in env.get("JOURNEYBOARD_ORIGINS", "").split(",") if o),
            auth_failures_per_minute=int(
                env.get("JOURNEYBOARD_AUTH_FAILURES_PER_MINUTE", defaults.auth_failures_per_minute)
            ),
        )
