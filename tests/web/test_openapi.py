"""Schemathesis against server/openapi.json: every answer of /api/... matches the description.

Generated bodies and parameters (valid and invalid) go over real HTTP to the app behind
waitress; each answer is checked for status code, content type, headers and schema, and
no input may cause a 500.
"""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from server import devices, users
from tests.builders import make_notice


@pytest.fixture
def tokens(db, school):
    make_notice(db)
    device_token = devices.enrol(db, devices.new_code(db, "desk"))[1]
    return {"integration": users.add_integration(db, "class app"), "device": device_token}


# 413 is how the API refuses too many items in one request (maxItems); 429 a rate limit
CONFIG = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": [400, 401, 403, 404, 406, 413, 422, 429]}}})
schema = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "server" / "openapi.json",
                                        config=CONFIG)
TOKENS: dict[str, str] = {}  # this test's tokens (each test has its own database)


@schema.auth()
class BearerTokens:
    """An integration token for /api/receipts, a device token for /api/sync/..."""

    def get(self, case, context):
        return "integration" if case.path == "/api/receipts" else "device"

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKENS.get(data, '')}"}


@schema.parametrize()
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_the_api_keeps_its_description(case, app, tokens, live_server):
    app.extensions.pop("paperbridge_ratelimits", None)  # generated traffic is far above a kiosk's budget
    TOKENS.update(tokens)
    case.call_and_validate(base_url=live_server)


def test_the_description_is_served_and_lists_every_api_route(client, app):
    described = set(client.get("/api/openapi.json").get_json()["paths"])
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")}
    assert described == routes
