"""DeadlineWatch: checks open cases against their deadlines every few seconds, on its own thread."""

import logging
import threading
from collections.abc import Callable

from central.cases.ledger import Escalation

log = logging.getLogger(__name__)


class DeadlineWatch:
    """Calls ``check`` (escalate what is overdue) every ``interval_s``; ``check_once`` is the testable step."""

    def __init__(self, check: Callable[[], list[Escalation]], interval_s: float) -> None:
        self._check = check
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="central-deadlines", daemon=True)

    def check_once(self) -> list[Escalation]:
        """One pass: escalate every overdue case, log each escalation."""
        done = self._check()
        for e in done:
            log.warning("case %d (ward %s) escalated to %s: %s", e.case_number, e.ward, e.to, e.reason)
        return done

    def start(self) -> None:
        """Start checking in the background."""
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the pass in hand."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.check_once()
            except Exception:
                log.exception("deadline check failed; trying again in %.0f s", self._interval_s)
