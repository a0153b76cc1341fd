"""A pure ASGI middleware that caps request bodies: 413 before a body larger than the cap is read in full.

A declared Content-Length above the cap is refused at once, without reading a byte of the body; a
chunked (or under-declared) body is counted as it streams and refused as soon as it passes the cap.
Pure ASGI rather than BaseHTTPMiddleware, which would buffer and could not stop a stream part-way.
"""

import json
from collections.abc import Callable

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_BODY_MAX_BYTES = 64 * 1024
"""Enough for any directory or case event the API takes; far below what would strain central's memory."""

RefusalSink = Callable[[str, str, str], None]
"""Called with (reason, client address, detail) for each refused request: RefusalCounter.count."""


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the cap (FastAPI lets HTTPExceptions through)."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed Content-Length itself
    return None


class BodySizeLimit:
    """Refuses request bodies over ``max_bytes`` with 413 and a JSON reason; counts each refusal."""

    def __init__(self, app: ASGIApp, max_bytes: int, refused: RefusalSink) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.refused = refused

    def _detail(self) -> str:
        return (f"request body larger than {self.max_bytes} bytes; send a smaller body "
                "(the cap is central's api_body_max_bytes setting)")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a byte-counting ``receive``, or answer 413."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else ""
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            self.refused("body_too_large", client, f"declared {declared} bytes")
            await self._answer_413(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    self.refused("body_too_large", client, f"streamed past {self.max_bytes} bytes")
                    raise BodyTooLarge(self._detail())
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # Reached here only if no exception handler answered it (e.g. a body read outside a route).
            if not started:
                await self._answer_413(send)

    async def _answer_413(self, send: Send) -> None:
        body = json.dumps({"detail": self._detail()}).encode("utf-8")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
