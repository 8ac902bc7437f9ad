"""`journeyboard boards|import-feedback|import-events|insights|export`: a server, from a shell.

These commands go through the SDK to the server at --url (JOURNEYBOARD_URL) with the token
--token (JOURNEYBOARD_TOKEN), and never open the database. Results go to stdout, as JSON
with --json for scripts; progress and errors go to stderr, an error as one line, status 1.
"""

import argparse
import contextlib
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias, get_args

import msgspec
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from client_sdk import insight_tables
from client_sdk.aio import DEFAULT_URL
from client_sdk.errors import (
    ConnectionFailed,
    JourneyboardError,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from client_sdk.export import FORMATS
from client_sdk.importing import ImportOptions, ImportProgress
from client_sdk.sync import JourneyboardClient
from schemas.api import Template
from schemas.evidence import FeedbackSource, IngestReport, Scale

Command = Callable[[JourneyboardClient, argparse.Namespace], None]
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
# The top-level commands `register` adds; journeyboard/cli.py sends them to `run`.
COMMANDS = frozenset({"boards", "import-feedback", "import-events", "insights", "export"})
SHOWN_REJECTIONS = 10
MAKE_TOKEN = "`journeyboard token create NAME` makes one"


def list_boards(jb: JourneyboardClient, args: argparse.Namespace) -> None:
    """Every board you can see, as a table or one JSON object per line (streamed by page)."""
    boards = jb.iter_boards(tag=args.tag, search=args.search)
    if args.json:
        for board in boards:
            _print_json(board)
        return
    table = Table("ID", "Title", "Owner", "Tags", "Updated")
    for board in boards:
        when = _when(board.updated_at)
        # Text, not str: a title like "[red]" is the user's text, not rich markup.
        table.add_row(*map(Text, (board.id, board.title, board.owner, ", ".join(board.tags), when)))
    Console().print(table)


def create_board(jb: JourneyboardClient, args: argparse.Namespace) -> None:
    """Print the new board's id, which is what a script needs next."""
    board = jb.create_board(
        args.title, description=args.description, tags=args.tag, template=args.template
    )
    if args.json:
        _print_json(board)
    else:
        print(board.id)


def show_board(jb: JourneyboardClient, args: argparse.Namespace) -> None:
    """The board's summary and how many of each kind of element it holds."""
    snapshot = jb.snapshot(args.board)
    counts = Counter(str(e.__struct_config__.tag) for e in snapshot.elements).most_common()
    if args.json:
        _print_json({"board": snapshot.board, "seq": snapshot.seq, "elements": dict(counts)})
        return
    board = snapshot.board
    print(f"{board.title} ({board.id})")
    print(f"owner     {board.owner}")
    print(f"tags      {', '.join(board.tags) or '-'}")
    print(f"template  {board.template or '-'}")
    print(f"seq       {snapshot.seq}")
    print(f"elements  {', '.join(f'{n} {kind}' for kind, n in counts) or 'none'}")


def delete_board(jb: JourneyboardClient, args: argparse.Namespace) -> None:
    jb.delete_board(args.board)
    print(f"deleted {args.board}")


def import_records(jb: JourneyboardClient, args: argparse.Namespace) -> None:
    """Stream a file's rows to the board (import-feedback or import-events), then report."""
    given = {"source": vars(args).get("source"), "scale": vars(args).get("scale")}
    options: ImportOptions = {
        "mapping": _mapping(args.map),
        "defaults": {k: v for k, v in given.items() if v is not None},
    }
    if args.chunk_rows:
        options["chunk_rows"] = args.chunk_rows
    with _progress_bar(args.file.name, hidden=args.json) as progress:
        options["progress"] = progress
        report = jb.import_records(args.board, args.kind, args.file, **options)
    if args.json:
        _print_json(report)
    else:
        _print_report(report)


def show_insight(jb: JourneyboardClient, args: argparse.Namespace) -> None:
    fetch, render = insight_tables.KINDS[args.kind]
    found = fetch(jb, args.board, args.limit)
    if args.json:
        _print_json(found)
    else:
        Console().print(render(found))


def export_board(jb: JourneyboardClient, args: argparse.Namespace) -> None:
    if args.output:
        jb.export_to(args.board, args.output, args.format)
    else:
        print(jb.export(args.board, args.format).rstrip("\n"))


def _mapping(pairs: list[str]) -> dict[str, str]:
    """{field: column} from --map FIELD=COLUMN; unknown fields are the SDK's to refuse."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        field, equals, column = pair.partition("=")
        if not (field.strip() and equals and column.strip()):
            raise ValueError(f"--map {pair!r}: write FIELD=COLUMN, e.g. --map score=Rating")
        mapping[field.strip()] = column.strip()
    return mapping


@contextlib.contextmanager
def _progress_bar(name: str, hidden: bool) -> Iterator[Callable[[ImportProgress], None]]:
    """A bar on stderr fed by the import's progress; hidden for --json and when piped."""
    columns = (
        TextColumn("{task.description}", markup=False),  # a file name, not markup
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeRemainingColumn(),
    )
    disable = hidden or not sys.stderr.isatty()
    with Progress(*columns, console=Console(stderr=True), disable=disable) as bar:
        task = bar.add_task(name, total=None, rows=0)
        # Called on the SDK's loop thread; rich's Progress locks around its updates.
        yield lambda p: bar.update(task, completed=p.bytes_read, total=p.bytes_total, rows=p.rows)


def _print_report(report: IngestReport) -> None:
    print(f"rows accepted       {report.accepted}")
    print(f"duplicates skipped  {report.duplicates}")
    print(f"rows rejected       {report.rejected}")
    for rejection in report.errors[:SHOWN_REJECTIONS]:
        print(f"  line {rejection.line}: {rejection.reason}")
    if (unshown := report.rejected - min(len(report.errors), SHOWN_REJECTIONS)) > 0:
        print(f"  ... and {unshown} more (--json lists the first {len(report.errors)})")


def _print_json(value: Any) -> None:
    print(msgspec.json.encode(value).decode())


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def _message(error: Exception, board: str | None) -> str:
    """The error as one line that says what to do about it."""
    match error:
        case NotFound() if board:
            text = f"no board {board!r} that you can see; `journeyboard boards list` shows yours"
        case Unauthorized():  # status 0: the SDK had no token to send
            refused = error.message if error.status else "no API token"
            text = f"{refused}; pass --token or set JOURNEYBOARD_TOKEN ({MAKE_TOKEN})"
        case ValidationFailed(path=path) if path:
            text = f"{error.message} (at {path})"
        case ConnectionFailed():
            text = f"cannot reach {error.message}; check --url or JOURNEYBOARD_URL"
        case JourneyboardError():
            text = error.message
        case OSError(filename=name, strerror=reason) if name and reason:
            text = f"{name}: {reason}"
        case _:
            text = str(error)
    return " ".join(text.split())


def run(args: argparse.Namespace) -> int:
    """Carry out a command `register` added; 1 with one line on stderr when it fails."""
    try:
        with JourneyboardClient(args.url, args.token) as jb:
            args.call(jb, args)
        return 0
    except (JourneyboardError, ValueError, OSError) as error:
        print(f"journeyboard: {_message(error, vars(args).get('board'))}", file=sys.stderr)
        return 1


def register(commands: Commands) -> None:
    """Add the client commands to `journeyboard`'s; `run` carries them out."""
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--url", help=f"the server (default: JOURNEYBOARD_URL or {DEFAULT_URL})")
    server.add_argument("--token", help="an API token (default: JOURNEYBOARD_TOKEN)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON, for scripts")
    _register_boards(commands, server, as_json)
    _register_imports(commands, server, as_json)
    insights = _command(
        commands, "insights", "what the board's evidence says", show_insight, [server, as_json]
    )
    insights.add_argument("kind", choices=list(insight_tables.KINDS))
    insights.add_argument("--board", required=True, metavar="ID")
    insights.add_argument("--limit", type=positive_int, default=10, help="rows per list")
    export = _command(commands, "export", "print or save a board", export_board, [server])
    export.add_argument("--board", required=True, metavar="ID")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("--output", type=Path, metavar="FILE", help="write here, not stdout")


def _register_boards(
    commands: Commands, server: argparse.ArgumentParser, as_json: argparse.ArgumentParser
) -> None:
    parents = [server, as_json]
    boards = commands.add_parser("boards", help="list, create, show and delete boards")
    actions = boards.add_subparsers(dest="action", required=True)
    listing = _command(actions, "list", "the boards you can see", list_boards, parents)
    listing.add_argument("--tag", help="only boards with this tag")
    listing.add_argument("--search", help="only boards whose title has this text")
    create = _command(actions, "create", "create a board and print its id", create_board, parents)
    create.add_argument("title")
    create.add_argument("--template", choices=get_args(Template))
    create.add_argument("--tag", action="append", default=[], help="repeat for more tags")
    create.add_argument("--description", default="")
    show = _command(actions, "show", "a board's summary and element counts", show_board, parents)
    show.add_argument("board", metavar="ID")
    _command(actions, "delete", "delete a board", delete_board, [server]).add_argument(
        "board", metavar="ID"
    )


def _register_imports(
    commands: Commands, server: argparse.ArgumentParser, as_json: argparse.ArgumentParser
) -> None:
    shared = argparse.ArgumentParser(add_help=False, parents=[server, as_json])
    shared.add_argument("file", type=Path, metavar="FILE", help=".csv, .ndjson, .jsonl or .json")
    shared.add_argument("--board", required=True, metavar="ID")
    shared.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="read FIELD from COLUMN; repeat per field",
    )
    shared.add_argument("--chunk-rows", type=positive_int, metavar="N", help="rows per request")
    feedback = _command(
        commands, "import-feedback", "upload feedback rows", import_records, [shared]
    )
    feedback.add_argument("--source", choices=get_args(FeedbackSource), help="for every row")
    feedback.add_argument("--scale", choices=get_args(Scale), help="of every row's score")
    feedback.set_defaults(kind="feedback")
    events = _command(commands, "import-events", "upload journey events", import_records, [shared])
    events.set_defaults(kind="events")


def _command(
    commands: Commands,
    name: str,
    help: str,
    call: Command,
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help, parents=parents)
    command.set_defaults(call=call)
    return command


def positive_int(text: str) -> int:
    """The type of --chunk-rows: a request carries at least one row."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value
