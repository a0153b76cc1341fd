"""Requests the API refuses on purpose (no or bad credentials, a token in a URL, a body too large, too many
failed logins): each one logged with its reason and counted, the counts shown in GET /api/stats."""

import logging
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response

log = logging.getLogger("central.api.refused")


@dataclass
class RefusalCounter:
    """Refused requests by reason since central started (kept in memory: a counter per process)."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, reason: str, client: str, detail: str) -> None:
        """Log one refusal and add it to its reason's count."""
        log.warning("refused %s from %s: %s", reason, client or "?", detail)
        with self.lock:
            self.counts[reason] += 1

    def by_reason(self) -> Mapping[str, int]:
        """A snapshot of the counts, by reason."""
        with self.lock:
            return dict(sorted(self.counts.items()))


class Refused(HTTPException):
    """An HTTPException that is also counted under ``reason`` (see refused_handler)."""

    def __init__(self, status_code: int, reason: str, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=dict(headers) if headers else None)
        self.reason = reason


def client_address(request: Request) -> str:
    """The caller's address as the server saw it (uvicorn resolves X-Forwarded-For only from trusted proxies)."""
    return request.client.host if request.client else ""


async def refused_handler(request: Request, exc: Exception) -> Response:
    """Count a Refused exception against the app's RefusalCounter, then answer as FastAPI would."""
    if isinstance(exc, Refused):
        counter: RefusalCounter = request.app.state.ctx.refusals
        counter.count(exc.reason, client_address(request), str(exc.detail))
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for Refused only
    return await http_exception_handler(request, exc)
