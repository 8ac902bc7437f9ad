"""Feedback and journey events in MongoDB: bulk inserts that dedupe, and the insight pipelines.

Every document's `_id` is (board, source, external id), so a re-import is a duplicate-key
error per record, counted and skipped, never a second copy. Pipelines `$match` one board
and `$group` over fields precomputed at ingest (server/evidence/records.py).
"""

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from server.evidence.records import SCORE_FIELDS, Document

DUPLICATE_KEY = 11000


class Evidence:
    """The `feedback` and `events` collections of one database."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.feedback: AsyncCollection[Document] = db.feedback
        self.events: AsyncCollection[Document] = db.events

    async def ensure_indexes(self) -> None:
        """One index per collection besides `_id`: each one costs every insert.

        (board, node) serves per-touchpoint reads and quotes; (board, customer, at) serves
        paths and re-purchase timing, which walk each customer's events in time order.
        """
        await self.feedback.create_index([("board", 1), ("node", 1)], name="board_node")
        await self.events.create_index(
            [("board", 1), ("customer", 1), ("at", 1)], name="board_customer_at"
        )

    async def insert(self, collection: AsyncCollection[Document], docs: list[Document]) -> int:
        """Insert what is new; returns how many were duplicates of stored records."""
        if not docs:
            return 0
        try:
            await collection.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            errors = error.details["writeErrors"]
            if any(e["code"] != DUPLICATE_KEY for e in errors):
                raise
            return len(errors)
        return 0

    async def forget_board(self, board_id: str) -> None:
        await self.feedback.delete_many({"board": board_id})
        await self.events.delete_many({"board": board_id})

    async def scores(self, board_id: str, by: str, where: Document | None = None) -> list[Document]:
        """Feedback totals per node (or per stage): one row each, `_id` the node or stage."""
        match = {"board": board_id, **(where or {})}
        return await _rows(
            self.feedback, [{"$match": match}, {"$group": {"_id": f"${by}", **_SCORE_SUMS}}]
        )

    async def quotes(self, board_id: str, node: str, limit: int = 20) -> list[Document]:
        """Some bad experiences told in words at a node (unsorted: sorting costs a scan)."""
        query = {"board": board_id, "node": node, "bad": 1, "opinion": 1}
        fields = {"text": 1, "source": 1, "sentiment": 1, "score": 1, "scale": 1, "pain": 1}
        return [doc async for doc in self.feedback.find(query, fields).limit(limit)]

    async def journeys(self, board_id: str) -> list[Document]:
        """Distinct paths: each customer's steps in time order, counted per distinct path."""
        return await _rows(
            self.events,
            [
                {"$match": {"board": board_id}},
                {"$sort": {"customer": 1, "at": 1}},
                {"$group": {"_id": "$customer", "steps": {"$push": "$step"}}},
                {"$group": {"_id": "$steps", "customers": {"$sum": 1}}},
            ],
        )

    async def timelines(self, board_id: str) -> list[Document]:
        """Each customer's (or ticket's) ticks: time and node in one sortable string.

        One pushed field and no $sort (ticks sort themselves) is a third faster on the
        embedded store than pushing nodes and times in index order.
        """
        return await _rows(
            self.events,
            [
                {"$match": {"board": board_id}},
                {"$group": {"_id": "$customer", "ticks": {"$push": "$tick"}}},
            ],
        )

    async def purchases(self, board_id: str) -> list[Document]:
        """Per customer who bought: how often, first and last purchase time."""
        return await _rows(
            self.events,
            [
                {"$match": {"board": board_id, "purchase": 1}},
                {
                    "$group": {
                        "_id": "$customer",
                        "purchases": {"$sum": 1},
                        "first": {"$min": "$at"},
                        "last": {"$max": "$at"},
                    }
                },
            ],
        )

    async def experiences(self, board_id: str) -> list[Document]:
        """Per node and outcome ("tp-" bad, "tp+" good): the customers who had it (with
        repeats: $push is a third faster than $addToSet there).

        One row per node and outcome, not per customer: on the embedded store a $group
        into 20,000 customer groups takes twice as long as one into 40 node groups.
        """
        return await _rows(
            self.feedback,
            [
                {"$match": {"board": board_id}},
                {"$group": {"_id": "$xp", "customers": {"$push": "$customer"}}},
            ],
        )

    async def satisfaction(self, board_id: str, source: str) -> list[Document]:
        """Per customer: summed normalised scores of their `source` feedback and how many."""
        return await _rows(
            self.feedback,
            [
                {"$match": {"board": board_id, "source": source, "scored": 1}},
                {"$group": {"_id": "$customer", "sum": {"$sum": "$norm"}, "n": {"$sum": 1}}},
            ],
        )


# Totals of fields precomputed at ingest; only plain `$sum`s, which the store does fast.
_SCORE_SUMS = {
    "feedback": {"$sum": 1},
    **{name: {"$sum": f"${name}"} for name in SCORE_FIELDS if name != "feedback"},
}


async def _rows(collection: AsyncCollection[Document], pipeline: list[Document]) -> list[Document]:
    cursor = await collection.aggregate(pipeline)
    return [doc async for doc in cursor]
