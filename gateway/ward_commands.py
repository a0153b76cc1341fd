"""The command language ward officials type on their handheld radios (plain Meshtastic text).

    LIST            open cases in the ward
    <case> ACK      the authority has taken the case
    <case> GO       a team is on its way
    <case> DONE     resolved
    HELP            this list

``<case>`` is a central case number (``42``) or, while the ward is cut off, a local one (``L3``).
Anything else sent to the gateway gets the help text back, so a tired official learns the language
from the radio. Who may send a case command is not grammar: see ``gateway/officer_auth.py``.
"""

from dataclasses import dataclass

HELP_TEXT = "floodmesh: LIST | <case> ACK | <case> GO | <case> DONE | HELP  (case: 42 or L3)"
VERBS = {"ACK": "acknowledged", "GO": "dispatched", "DONE": "resolved"}


@dataclass(frozen=True)
class CaseCommand:
    """``<case> <verb>``: move a case to ``state``."""

    case: str
    state: str


@dataclass(frozen=True)
class ListCommand:
    """``LIST``."""


@dataclass(frozen=True)
class HelpCommand:
    """``HELP``, or anything not understood (``unknown`` holds it)."""

    unknown: str = ""


Command = CaseCommand | ListCommand | HelpCommand


def normalise_case(token: str) -> str | None:
    """``42`` -> ``"42"``, ``l3``/``L3``/``#L3`` -> ``"L3"``; None if it is not a case number."""
    t = token.strip().upper().lstrip("#")
    if t.startswith("L") and t[1:].isdigit():
        return "L" + str(int(t[1:]))
    if t.isdigit():
        return str(int(t))
    return None


def parse(text: str) -> Command:
    """Parse one message; never raises."""
    words = text.strip().split()
    if len(words) == 1 and words[0].upper() == "LIST":
        return ListCommand()
    if len(words) == 1 and words[0].upper() in ("HELP", "?"):
        return HelpCommand()
    if len(words) == 2:
        case, verb = normalise_case(words[0]), words[1].upper()
        if case is not None and verb in VERBS:
            return CaseCommand(case, VERBS[verb])
    return HelpCommand(unknown=text.strip()[:40])
