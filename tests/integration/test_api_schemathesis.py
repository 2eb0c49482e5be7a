"""Property-based requests generated from the served /openapi.json (schemathesis): valid and
invalid inputs alike, with a key that holds every REST grant, never get a 5xx, and every
reply conforms to the document (status documented, content type, body schema)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from hub.api import grants
from tests.integration.partner_hub import PartnerHub, building_permit, licence, parking_permit

ALL_REST = tuple(grants.REST_GRANTS)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    with PartnerHub(tmp_path_factory.mktemp("fuzz"), partner_rate_limit=1_000_000) as hub:
        hub.insert(
            licence("MCT-TL-004217"),
            building_permit("MCT-BP-2026-001234"),
            parking_permit("PKA-2026-0000123", ("12345", "AB")),
        )
        yield hub


@pytest.fixture(scope="module")
def api_key(served: PartnerHub) -> str:
    return served.partner(*ALL_REST)[1]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_gets_a_server_error(
    served: PartnerHub, api_key: str, mode: GenerationMode
) -> None:
    """Each operation gets a bounded number of generated requests (derandomized, so a run is
    repeatable); schemathesis' pytest plugin is not used (it does not support pytest 9)."""
    schema = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9  # 6, and Invest Easy (2) and Isnad (1)
    audited_before = len(served.audit())

    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.path == "/healthz":
            continue  # no parameters and no body: there is no invalid request to make

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def requests_from(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"X-Api-Key": api_key},
                timeout=10,
                additional_checks=[not_a_server_error],
            )

        requests_from()

    # The generated requests did reach the app (each call or refusal is audited).
    assert len(served.audit()) - audited_before >= 25
