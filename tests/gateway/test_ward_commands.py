"""The officials' command language: what they type, what it means."""

import pytest

from gateway.ward_commands import CaseCommand, HelpCommand, ListCommand, normalise_case, parse

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("LIST", ListCommand()),
        (" list ", ListCommand()),
        ("help", HelpCommand()),
        ("?", HelpCommand()),
        ("42 ACK", CaseCommand("42", "acknowledged")),
        ("l3 go", CaseCommand("L3", "dispatched")),
        ("#L3 done", CaseCommand("L3", "resolved")),
        ("042 Ack", CaseCommand("42", "acknowledged")),
        ("42 FLY", HelpCommand(unknown="42 FLY")),
        ("ACK 42", HelpCommand(unknown="ACK 42")),
        ("", HelpCommand(unknown="")),
        ("xin chào", HelpCommand(unknown="xin chào")),
    ],
)
def test_parse(text: str, command: object) -> None:
    assert parse(text) == command


def test_case_numbers() -> None:
    assert normalise_case("L07") == "L7"
    assert normalise_case("LX") is None
    assert normalise_case("-3") is None
