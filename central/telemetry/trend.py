"""TrendWindow: a station's recent (time, level) points and their least-squares slope, O(1) per reading.

The flood rules need the slope over the last few hours on every reading. Sorting the window and summing
it again each time costs O(window) per reading; here a reading costs O(1) amortised:

- The points live in an append-only log with running (prefix) sums of t, v, t², tv, so any window
  ``[start, end)`` of the log has its sums as two subtractions; evicting old points only moves ``start``.
- A ``TrendWindow`` is an immutable view (log, start, end). Only the newest view of a log appends to
  it; an older one (a state restored after a failed batch) copies its points into a log of its own
  first. So a window, once made, never changes: rule states stay values that can be checkpointed.
- Sums are kept relative to a reference point (t0, v0) near the window, and the log is rebuilt from the
  window's own points once the reference is two spans old or half the log is evicted: this keeps
  the subtractions well conditioned (t is ~1.7e9 s, t² ~3e18) and memory bounded by the window.
  Each rebuild costs O(window) and follows at least as many appends or evictions.
- A reading older than the newest point (rare: a late or replayed one) is put in its place and the
  window rebuilt from scratch, O(window).
"""

from array import array
from bisect import insort
from collections.abc import Sequence
from dataclasses import dataclass, field

Point = tuple[float, float]  # (unix seconds, level in m)


class _Log:
    """Points in time order and running sums of (t - t0), (v - v0), their squares and products."""

    def __init__(self, points: Sequence[Point]) -> None:
        self.t0, self.v0 = points[0] if points else (0.0, 0.0)
        self.points: list[Point] = []
        # The same points as doubles t0, v0, t1, v1, ...: a window's packed copy is then one slice, made
        # in C (rule_state stores every touched station's window with each batch; a loop over the points
        # in Python took 5 ms per 30,000-point window, and an SOS waiting on that batch's commit waited too).
        self.flat = array("d")
        self.st, self.sv, self.stt, self.stv = [0.0], [0.0], [0.0], [0.0]
        for t, v in points:
            self.append(t, v)

    def append(self, t: float, v: float) -> None:
        if not self.points:
            self.t0, self.v0 = t, v  # all sums are 0: the reference can still move to the first point
        dt, dv = t - self.t0, v - self.v0
        self.points.append((t, v))
        self.flat.extend((t, v))
        self.st.append(self.st[-1] + dt)
        self.sv.append(self.sv[-1] + dv)
        self.stt.append(self.stt[-1] + dt * dt)
        self.stv.append(self.stv[-1] + dt * dv)


@dataclass(frozen=True)
class TrendWindow:
    """The points of the last ``span_s`` seconds (oldest first) and their least-squares slope."""

    _log: _Log = field(default_factory=lambda: _Log(()), repr=False, compare=False)
    _start: int = 0
    _end: int = 0

    @classmethod
    def of(cls, points: Sequence[Point]) -> "TrendWindow":
        """A window over ``points`` (already in time order), in a log of its own."""
        return cls(_Log(points), 0, len(points))

    @property
    def points(self) -> tuple[Point, ...]:
        """The window's points, oldest first (a copy: O(window), for display)."""
        return tuple(self._log.points[self._start : self._end])

    def packed(self) -> "array[float]":
        """The window's points as doubles t0, v0, t1, v1, ..., oldest first (a copy made in C)."""
        return self._log.flat[2 * self._start : 2 * self._end]

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def first(self) -> Point | None:
        """The oldest point, if any."""
        return self._log.points[self._start] if self._end > self._start else None

    @property
    def last(self) -> Point | None:
        """The newest point, if any."""
        return self._log.points[self._end - 1] if self._end > self._start else None

    def added(self, t: float, v: float, span_s: float) -> "TrendWindow":
        """This window with (t, v) in time order, without the points older than the newest minus ``span_s``."""
        last = self.last
        if last is not None and t < last[0]:
            points = list(self.points)
            insort(points, (t, v))
            return TrendWindow.of([p for p in points if p[0] >= last[0] - span_s])
        log, start, end = self._log, self._start, self._end
        if end != len(log.points) or t - log.t0 > 2 * span_s or 2 * start > len(log.points):
            # Another window already extended this log, or the reference is stale, or half the log is dead.
            log, start, end = _Log(log.points[start:end]), 0, end - start
        log.append(t, v)
        end += 1
        horizon = t - span_s
        while log.points[start][0] < horizon:
            start += 1
        return TrendWindow(log, start, end)

    def slope_per_s(self) -> float | None:
        """Least-squares slope of level over time (m/s); None with fewer than two distinct times."""
        log, a, b = self._log, self._start, self._end
        n = b - a
        if n < 2:
            return None
        st, sv = log.st[b] - log.st[a], log.sv[b] - log.sv[a]
        var = (log.stt[b] - log.stt[a]) - st * st / n
        cov = (log.stv[b] - log.stv[a]) - st * sv / n
        if var <= 0:
            return None
        return cov / var
