"""The Journeyboard Python SDK: script boards, keep a live replica, import customer evidence.

    from client_sdk import JourneyboardClient, Journey

    with JourneyboardClient() as jb:                 # JOURNEYBOARD_URL, JOURNEYBOARD_TOKEN
        board = jb.create_board("Onboarding", template="customer-journey")
        report = jb.import_feedback(board.id, "survey.csv", defaults={"source": "survey"})

`AsyncJourneyboardClient` has the same methods for asyncio code, plus `live()`.
Data crosses the wire as the msgspec types in `schemas` (Node, Stage, Snapshot...).
"""

from client_sdk.aio import AsyncJourneyboardClient
from client_sdk.builders import Journey
from client_sdk.errors import (
    Conflict,
    ConnectionFailed,
    JourneyboardError,
    NotFound,
    OfflineQueueFull,
    PermissionDenied,
    RateLimited,
    ServerError,
    TooLarge,
    Unauthorized,
    ValidationFailed,
)
from client_sdk.importing import ImportProgress
from client_sdk.live import Change, LiveBoard
from client_sdk.retries import Retries
from client_sdk.sync import JourneyboardClient, SyncLiveBoard

__all__ = [
    "AsyncJourneyboardClient",
    "Change",
    "Conflict",
    "ConnectionFailed",
    "ImportProgress",
    "Journey",
    "JourneyboardClient",
    "JourneyboardError",
    "LiveBoard",
    "NotFound",
    "OfflineQueueFull",
    "PermissionDenied",
    "RateLimited",
    "Retries",
    "ServerError",
    "SyncLiveBoard",
    "TooLarge",
    "Unauthorized",
    "ValidationFailed",
]
