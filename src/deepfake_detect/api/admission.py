"""Admission and upload deadlines for the routes that take videos, before any byte of the body is read.

Each upload route waits in a pool of places (`Gate`), taken from the request's first byte to its
answer, so the surplus gets 503 + Retry-After at once, without the server reading (and spooling to
disk) uploads it will not take:
- `/predict` and `/predict/batch` share `INFERENCE_WORKERS + MAX_QUEUE` places (`InferenceService.slot`):
  they analyse while the client waits;
- `POST /jobs` has `MAX_JOB_UPLOADS` places of its own (`UploadSlots`): it only stores the upload and
  answers 202, so a busy /predict must not refuse jobs (their queue is the database's), and a burst of
  job uploads must not take /predict's places.
A client that stalls (nothing for `UPLOAD_STALL_S`) or trickles (body not complete within
`UPLOAD_TIMEOUT_S`) gets 408 and gives its place back: a handful of slow clients cannot hold every slot.
With API keys configured, a request without a valid key gets its 401 before it takes a place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import DetectorError, Overloaded
from .errors import error_response

Gate = Callable[[], AbstractAsyncContextManager[None]]  # `async with gate():` or Overloaded
Precheck = Callable[[Scope], Awaitable[None]]  # raises a DetectorError to refuse (e.g. 401)


class UploadSlots:
    """`capacity` places for uploads being received; the event loop's single thread needs no lock."""

    def __init__(self, capacity: int, what: str, retry_after_s: int = 5):
        self.capacity = capacity
        self.what = what  # e.g. "job upload(s)", for the 503's detail
        self.retry_after_s = retry_after_s
        self.in_flight = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.in_flight >= self.capacity:
            raise Overloaded(
                f"{self.in_flight} {self.what} are being received (limit {self.capacity}); retry shortly",
                retry_after_s=self.retry_after_s,
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


class UploadGuard:
    """ASGI middleware: a place from the path's gate around each upload request, deadlines on its body."""

    def __init__(
        self,
        app: ASGIApp,
        gates: Mapping[str, Gate],
        stall_s: float,
        timeout_s: float,
        precheck: Precheck | None = None,
    ):
        self.app = app
        self.gates = dict(gates)  # path -> gate, for POST requests
        self.stall_s = stall_s
        self.timeout_s = timeout_s
        self.precheck = precheck

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate = self.gates.get(scope.get("path", "")) if scope["type"] == "http" else None
        if gate is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        place = gate()
        try:
            if self.precheck is not None:
                await self.precheck(scope)
            await place.__aenter__()
        except DetectorError as e:  # Unauthorized, Overloaded: answered before the body is read
            response = error_response(e, scope["path"])
            response.headers["Connection"] = "close"  # the body is left unread
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, self._with_deadlines(receive), send)
        finally:
            await place.__aexit__(None, None, None)

    def _with_deadlines(self, receive: Receive) -> Receive:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:  # after the body: disconnect watching, no deadline
                return await receive()
            remaining = deadline - loop.time()
            try:
                async with asyncio.timeout(max(0.0, min(self.stall_s, remaining))):
                    message = await receive()
            except TimeoutError:
                stalled = remaining > self.stall_s
                detail = (
                    f"the upload sent nothing for {self.stall_s:g} s"
                    if stalled
                    else f"the upload did not complete within {self.timeout_s:g} s"
                )
                raise HTTPException(408, detail, headers={"Connection": "close"}) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        return timed_receive
