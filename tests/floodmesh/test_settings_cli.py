"""`floodmesh central` / `gateway` flags are built from the settings models; bad settings exit 2, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from central.core.config import CentralSettings
from floodmesh.cli import build_parser
from floodmesh.settings_cli import overrides_from
from gateway.config import GatewaySettings
from protocol.process_settings import flag_name


def _options(command: str) -> set[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    parser = sub.choices[command]  # type: ignore[index]
    return {opt for action in parser._actions for opt in action.option_strings}


@pytest.mark.unit
@pytest.mark.parametrize(("command", "model"), [("central", CentralSettings), ("gateway", GatewaySettings)])
def test_every_setting_has_a_flag_except_secrets(command: str, model: type[CentralSettings | GatewaySettings]) -> None:
    options = _options(command)
    for name in model.model_fields:
        assert (flag_name(name) in options) == (name not in model.secret_fields), name
    assert "--config" in options


@pytest.mark.unit
def test_only_given_flags_override() -> None:
    args = build_parser().parse_args(["central", "--registry", "n.json", "--telemetry", "influx",
                                      "--influx-token-file", "t", "--mqtt-insecure-plaintext", "--port", "0"])
    assert overrides_from(args) == {"registry_path": "n.json", "telemetry_backend": "influx", "influx_token_file": "t",
                                    "mqtt_insecure_plaintext": True, "api_port": "0"}


def _run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOODMESH_")} | (env or {})
    return subprocess.run([sys.executable, "-m", "floodmesh", *argv], capture_output=True, text=True, timeout=60,
                          check=False, env=clean)


@pytest.mark.integration
def test_bad_settings_exit_2_with_the_reason_and_no_traceback(tmp_path: Path) -> None:
    registry = tmp_path / "nodes.json"
    registry.write_text("[]", encoding="utf-8")
    proc = _run("central", "--registry", str(registry), "--telemetry", "influx", "--mqtt-insecure-plaintext",
                env={"FLOODMESH_API_PORT": "99999"})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "floodmesh central: cannot start with these settings:" in proc.stderr
    assert "api_port: Input should be less than or equal to 65535 (got '99999')" in proc.stderr
    proc = _run("central", "--registry", str(registry), "--telemetry", "influx", "--mqtt-insecure-plaintext")
    assert proc.returncode == 2
    assert "telemetry_backend=influx needs a token" in proc.stderr
    assert "Traceback" not in proc.stderr
