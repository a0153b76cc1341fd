"""Every operation of central's OpenAPI, fuzzed in-process (ASGI) with schemathesis: never a server error.

A seeded store (cases in two wards, ward directories, a reading, users) and path parameters narrowed to
ids that exist, so valid requests reach real rows while invalid ones probe the validation; an IOC
operator's token gets them past authentication. Hypothesis is derandomized: the same examples every
run, a bounded number per operation.
"""

import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from starlette.exceptions import StarletteDeprecationWarning

from central.api import create_app
from central.cases import directory
from central.geo.ward_locator import WardLocator
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from central.store.users import add_user
from central.telemetry.stations import Station
from protocol import frames
from tests.central.central_testkit import LOOSE_BUTTON_ID, NOW, encode, make_uplink, vector_hex

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

EXAMPLES_PER_OPERATION = 30


def with_known_ids(openapi: dict[str, Any], known: dict[str, list[Any]]) -> dict[str, Any]:
    """The OpenAPI with these path parameters limited to existing ids (negative cases still try others)."""
    for operations in openapi["paths"].values():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                if param["in"] == "path" and param["name"] in known:
                    param["schema"] = {**param["schema"], "enum": known[param["name"]]}
    return openapi


@pytest.fixture
def api_schema(
    processor: UplinkProcessor, store: CentralStore, locator: WardLocator, stations: dict[str, Station]
) -> schemathesis.BaseSchema:
    """The app's own OpenAPI, loaded from the app in-process, over a seeded store."""
    directory.install(store, directory.seed(locator, {}), NOW)
    processor.process_batch(
        [
            make_uplink(vector_hex("sos_medical_gps"), 1),
            make_uplink(encode(frames.Sos(4, 1), 30, node_id=LOOSE_BUTTON_ID), 2),
            make_uplink(vector_hex("water_level_kim_long"), 3, ward="19813"),
        ]
    )
    app = create_app(store, locator, stations, lambda: True, processor=processor)
    app.state.operator_token = add_user(store, "ioc", "operator", None, "hunter2", NOW)
    cases = [c.case_number for c in store.cases()]
    known = {"case_number": cases, "request_id": cases, "station_id": sorted(stations),
             "ward": [w.code for w in locator.wards][:5]}
    schema = schemathesis.openapi.from_dict(with_known_ids(app.openapi(), known))
    schema.app = app  # requests go to the app in-process, through ASGI
    return schema


def server_errors(operation: APIOperation, token: str) -> list[str]:
    """Fuzz one operation with valid and invalid requests; what answered with a 5xx, if anything."""
    failures: list[str] = []
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=strategy)
    def fuzz(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])
        except Exception as exc:  # a 5xx (failed check), or an exception the app let out (in-process)
            request = f"path {case.path_parameters} query {case.query} body {case.body!r}"[:500]
            failures.append(f"{operation.label} ({request}): {type(exc).__name__}: {str(exc)[:1000]}")

    fuzz()
    return failures


@pytest.mark.integration
def test_no_operation_answers_with_a_server_error(api_schema: schemathesis.BaseSchema) -> None:
    token = api_schema.app.state.operator_token
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    failures = [failure for operation in operations for failure in server_errors(operation, token)]
    assert not failures, "\n\n".join(failures)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/cases/12904534674993188864", {}),  # past any store's integer: was an OverflowError
        ("/open311/v2/requests/-3.json", {}),
        ("/api/accountability", {"until": "0001-01-01T01:00:01Z"}),  # was date arithmetic out of range
        ("/api/stations/kim_long/history", {"since": "9999-12-31T23:00:00-05:00"}),
        ("/open311/v2/requests.json", {"start_date": "0001-01-01T00:00:00+01:00"}),
        ("/api/cases", {"ward": "197\x0074"}),  # NUL: PostgreSQL refuses it in text (was a DataError)
        ("/api/directory/19%0074", {}),
    ],
)
def test_what_the_fuzzer_found_is_refused_with_a_reason(
    api_schema: schemathesis.BaseSchema, path: str, params: dict[str, str]
) -> None:
    token = api_schema.app.state.operator_token
    with TestClient(api_schema.app) as client:
        response = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["msg"]


@pytest.mark.unit
def test_request_ids_that_cannot_be_case_numbers_match_nothing(api_schema: schemathesis.BaseSchema) -> None:
    token = api_schema.app.state.operator_token
    with TestClient(api_schema.app) as client:
        response = client.get("/open311/v2/requests.json", params={"service_request_id": "1,²,99999999999999999999"},
                              headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert [r["service_request_id"] for r in response.json()] == ["1"]
