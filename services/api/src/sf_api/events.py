"""The Server-Sent Events stream of stage changes, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

from fastapi import Request
from sleepy_factory.stage_changes import REORDER_WINDOW, StageChange, changes_after
from sse_starlette import ServerSentEvent
from starlette.concurrency import run_in_threadpool

from sf_api.services import Services

MAX_REPLAY = 5000
RETRY_MS = 2000


def change_event(change: StageChange) -> ServerSentEvent:
    data = {
        "seq": change.seq,
        "job_id": str(change.job_id),
        "stage": change.stage,
        "status": change.status,
        "attempt": change.attempt,
        "last_error": change.last_error,
    }
    return ServerSentEvent(event="stage", id=str(change.seq), data=json.dumps(data))


def _replay(svc: Services, after: int) -> list[StageChange]:
    # Look back as the feed does: a change numbered just below `after` may have committed later.
    with svc.pool.connection() as conn:
        return changes_after(conn, max(0, after - REORDER_WINDOW), limit=MAX_REPLAY + 1)


async def stage_events(
    request: Request, svc: Services, *, after: int | None, job: uuid.UUID | None
) -> AsyncIterator[ServerSentEvent]:
    """Subscribe first, then replay what came after `after`, then stream: nothing falls in between.

    Every event carries the stage's current state, so a duplicate is harmless (pages keep the
    highest `seq` per stage). A client too far behind gets `reset` and reloads.
    """
    subscription = svc.feed.subscribe()
    try:
        yield ServerSentEvent(event="hello", retry=RETRY_MS, data=json.dumps({"cursor": svc.feed.cursor}))
        if after is not None:
            missed = await run_in_threadpool(_replay, svc, after)
            if len(missed) > MAX_REPLAY:
                yield ServerSentEvent(event="reset", data="{}")
                return
            for change in missed:
                if job is None or change.job_id == job:
                    yield change_event(change)
        while not svc.stopping.is_set() and not await request.is_disconnected():
            if subscription.lagging:
                yield ServerSentEvent(event="reset", data="{}")
                return
            try:
                change = await asyncio.wait_for(subscription.queue.get(), timeout=1.0)
            except TimeoutError:
                continue
            if job is None or change.job_id == job:
                yield change_event(change)
    finally:
        svc.feed.unsubscribe(subscription)
