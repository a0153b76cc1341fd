"""Failed logins counted per client address and per user name, so scrypt cannot be used as a CPU lever.

Pure: the clock is passed in. After ``max_failures`` failures of one key within ``window_s`` the key is
blocked until its oldest failure in the window ages out; a blocked caller is answered 429 before any
password hash is computed. Secrets already verified skip the limiter (api/auth.py), so an attacker who
hammers a user name does not lock out that user's running dashboard or gateway.
"""

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoginLimits:
    """How many failures a client address and a user name may have within ``window_s``."""

    per_address: int = 10
    per_user: int = 20
    window_s: float = 300.0
    max_tracked: int = 10_000  # keys kept at most (addresses + names): memory stays bounded under a spray


def login_keys(address: str, user: str) -> tuple[str, str]:
    """The limiter keys of one login attempt: its client address and the user name it tried."""
    return f"address:{address}", f"user:{user}"


@dataclass
class LoginLimiter:
    """Sliding-window failure counts; thread-safe (FastAPI runs sync dependencies in a thread pool)."""

    limits: LoginLimits = field(default_factory=LoginLimits)
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _limit(self, key: str) -> int:
        return self.limits.per_address if key.startswith("address:") else self.limits.per_user

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.limits.window_s:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def retry_after(self, keys: Iterable[str]) -> float | None:
        """Seconds until these keys may try again, or None if none of them is blocked."""
        now = self.clock()
        waits = []
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self._limit(key):
                    # Blocked until enough of the window's failures age out to fall under the limit.
                    waits.append(times[len(times) - self._limit(key)] + self.limits.window_s - now)
        return max(waits) if waits else None

    def failed(self, keys: Iterable[str]) -> None:
        """Record one failed login against each key."""
        now = self.clock()
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                self._failures.pop(key, None)  # re-inserted below: the dict stays ordered by last failure
                if len(self._failures) >= self.limits.max_tracked:
                    del self._failures[next(iter(self._failures))]
                times.append(now)
                # A key is at most at its limit: older failures cannot lengthen the block.
                while len(times) > self._limit(key):
                    times.popleft()
                self._failures[key] = times

    def tracked(self) -> int:
        """How many keys have failures in memory (for tests of the bound)."""
        with self._lock:
            return len(self._failures)
