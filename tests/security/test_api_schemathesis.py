"""Schemathesis against the API's own OpenAPI document, in-process through the WSGI app, every check on.

Positive and negative examples for every operation, a fixed example budget and seed so it
stays under a minute and a failure is reproducible; a longer run is one environment
variable away (MESO_FUZZ_EXAMPLES, bench/README.md "Fuzzing").
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.support.api import make_admin, make_token

EXAMPLES = int(os.environ.get("MESO_FUZZ_EXAMPLES", "30"))
#: Every check stays on. One is told what JSON Schema cannot say: a schema-valid answers document
#: can still break a rule across fields or dates ("the appointment date cannot be in the past",
#: "choose at least one goal, or describe yours"), which the API answers with a 422 naming each field.
CONFIG = SchemathesisConfig.from_dict({"operations": [{
    "include-method": "POST", "include-path": "/api/v1/intakes",
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "422", "429"]}},
}]})


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_its_openapi_promises(app, mode):
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    make_admin(app)
    bearer = {"Authorization": f"Bearer {make_token(app)[1]}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} == {"POST /api/v1/intakes", "GET /api/v1/intakes/{intake_id}",
                                               "GET /api/v1/intakes"}
    for operation in operations:

        @hypothesis_seed(14)
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            sent = {name.lower() for name in (case.headers or {})}
            if mode is GenerationMode.NEGATIVE and "authorization" not in sent:
                case.call_and_validate()  # the example leaves the token out on purpose: a 401 is due
            else:
                case.call_and_validate(headers=bearer)

        check()
