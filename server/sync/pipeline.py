"""The commit pipeline's pure parts: a group of new submissions in, log entries and answers
out; states rebuilt from the log and the snapshot.

No asyncio, no store: the room (server/sync/room.py) dedupes, then hands the new ones here,
writes the entries this returns and answers each submitter with its outcome.
"""

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from schemas.auth import Role
from schemas.effects import Effects
from schemas.ops import BoardOp
from server.board import (
    REPLAY_LIMITS,
    BoardState,
    Context,
    Limits,
    Rejected,
    apply_batch,
    apply_effects,
    commit_batch,
)
from server.board.apply import element_size
from server.board.elements import Elements
from server.sync.log import BoardBlob, LogEntry, encoded_op
from server.sync.results import Committed


class Submission(Protocol):
    """What the pipeline reads of a submission."""

    @property
    def ops(self) -> Sequence[BoardOp]: ...
    @property
    def user(self) -> str: ...
    @property
    def role(self) -> Role: ...
    @property
    def client_key(self) -> str: ...
    @property
    def client_op_id(self) -> int: ...
    @property
    def via(self) -> str: ...


class Staged(NamedTuple):
    """The state after the accepted submissions, their entries (consecutive seqs) and each
    entry as clients receive it, and per submission taken, in order, its entry or why it was
    refused."""

    state: BoardState
    entries: list[LogEntry]
    messages: list[str]
    outcomes: list[LogEntry | Rejected]


def stage(
    state: BoardState,
    seq: int,
    submissions: Sequence[Submission],
    at: int,
    limits: Limits,
    *,
    max_message: int = 2**62,
    budget: int = 2**62,
) -> Staged:
    """Apply each submission in order to `state` (at `seq`), all or nothing per submission;
    a refused one leaves no trace and takes no seq. One whose message to clients would pass
    `max_message` bytes is refused: the committer passes what a live client may fall behind,
    so every batch reaches each client that is not already that far behind. Once the entries
    hold `budget` bytes the rest are left for another group (`len(outcomes)` says how many
    were taken): a group is one log document, and the database limits a document's size."""
    entries: list[LogEntry] = []
    messages: list[str] = []
    outcomes: list[LogEntry | Rejected] = []
    size = 0
    for submission in submissions:
        if size >= budget:
            break
        context = Context(user=submission.user, now_ms=at, role=submission.role, limits=limits)
        try:
            after, effects = commit_batch(state, submission.ops, context)
        except Rejected as rejected:
            outcomes.append(rejected)
            continue
        entry = LogEntry(
            seq=seq + len(entries) + 1,
            ops=list(submission.ops),
            user=submission.user,
            at=at,
            client_id=submission.client_key,
            client_op_id=submission.client_op_id,
            effects=effects,
            via=submission.via,
        )
        message = encoded_op(entry)
        if len(message) > max_message:
            outcomes.append(_too_large(len(message), max_message))
            continue
        state = after
        size += len(message)
        entries.append(entry)
        messages.append(message.decode())
        outcomes.append(entry)
    return Staged(state, entries, messages, outcomes)


def _too_large(size: int, limit: int) -> Rejected:
    """Effects carry each changed element whole, so a small batch can be a large message."""
    return Rejected(
        "too_large",
        f"this batch is {size} bytes as clients receive it (its ops and every element they "
        f"change); the limit is {limit}: send it as smaller batches",
        limit=limit,
        size=size,
    )


def replay(state: BoardState, entries: Sequence[LogEntry]) -> BoardState:
    """`state` with committed entries followed in order."""
    for entry in entries:
        state = follow(state, entry)
    return state


def follow(state: BoardState, entry: LogEntry) -> BoardState:
    """Follow a committed entry: by its effects, or by its ops if it predates protocol 2."""
    if entry.effects is not None:
        return apply_effects(state, entry.effects)
    context = Context(user=entry.user, now_ms=entry.at, limits=REPLAY_LIMITS)
    return apply_batch(state, entry.ops, context)


def outcome_of(entry: LogEntry, duplicate: bool) -> Committed:
    """The answer to the submission `entry` logs (`duplicate`: to a retry of it)."""
    return Committed(
        seq=entry.seq,
        duplicate=duplicate,
        at=entry.at,
        effects=entry.effects or Effects(),
        ops=tuple(entry.ops),
        via=entry.via,
    )


def state_of(blob: BoardBlob | None) -> BoardState:
    """The state a cached snapshot holds (an empty board if there is none yet)."""
    if blob is None:
        return BoardState(title="")
    return BoardState(
        title=blob.title,
        description=blob.description,
        tags=blob.tags,
        elements=Elements(blob.elements),
        size=sum(map(element_size, blob.elements)),
    )


def blob_of(state: BoardState) -> BoardBlob:
    """A state as the snapshot caches it, elements in their order."""
    elements = list(state.elements.values())
    return BoardBlob(
        title=state.title, description=state.description, tags=state.tags, elements=elements
    )
