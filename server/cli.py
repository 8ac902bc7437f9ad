"""`journeyboard`: run the server, on MongoDB or on the embedded store."""

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator

import msgspec
import uvicorn

from server.app import create_app, redact
from server.settings import Settings
from server.store.embedded import EmbeddedStore, EmbeddedStoreError

log = logging.getLogger("journeyboard")


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The MongoDB URI to use: MONGODB_URI, or an embedded store started for this run."""
    if settings.mongodb_uri:
        yield settings.mongodb_uri
        return
    with EmbeddedStore(settings.data_dir.resolve()) as store:
        log.info("embedded store (nx-27017) at %s, data in %s", store.uri, store.folder)
        log.info(
            "embedded store: write concern is ignored; durability = SQLite journal on local disk"
        )
        yield store.uri


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """Uvicorn re-raises SIGTERM after its graceful shutdown; exit so the store stops too."""
    raise SystemExit(0)


def serve(settings: Settings) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        with database(settings) as uri:
            log.info("database %s", redact(uri))
            app = create_app(settings, uri)
            config = uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                log_level="info",
                ws_max_size=1024 * 1024,
            )
            server = uvicorn.Server(config)
            server.run()
            return 0 if server.started else 1
    except EmbeddedStoreError as error:
        log.error("%s", error)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="journeyboard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "serve", help="run the API server (embedded store unless MONGODB_URI is set)"
    )
    run.add_argument("--host", help="interface to bind (default 127.0.0.1, or HOST)")
    run.add_argument("--port", type=int, help="port to listen on (default 8000, or PORT)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings.from_env()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    return serve(msgspec.structs.replace(settings, **overrides))


if __name__ == "__main__":
    sys.exit(main())
