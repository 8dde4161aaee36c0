"""Schemathesis against ``/api/v1/openapi.json``, on SQLite and PostgreSQL.

Requests go through the platform's WSGI app (schemathesis's WSGI transport): its ``requests``
transport cannot inspect the connection pools of the ``urllib3-future`` that CalDAV's client
installs in place of urllib3.

Every operation of the document is called with schema-valid and schema-invalid data, and every
answer goes through all of schemathesis's checks: no 5xx, the status, content type, body and
documented headers as documented, invalid data refused, valid data accepted, no authentication
ignored, 405s with ``Allow``. Then the document's links drive a stateful run (create an
appointment, then read, change and cancel it; read a connector, then start its OAuth,
configure, change its settings or revoke it). The number of examples is bounded so the whole
run takes well under a minute per database; the counts are printed (``pytest -s``).

Unknown query parameters are ignored by every route (webargs' default), so none are generated.
``positive_data_acceptance`` also accepts 422 and 400: a schema cannot say that ``ends_at`` comes
after ``starts_at``, that a PATCH changes at least one field (422), or that an OAuth connector has
no ``/config`` (400), and the API says so, as documented.
"""
from __future__ import annotations

import collections

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode


EXAMPLES_PER_OPERATION = 6
STATEFUL_STEPS = 10
STATEFUL_EXAMPLES = 6
CONFIG = {
    # Unknown query parameters are ignored by every route (webargs' default for the query string).
    "generation": {"allow-extra-parameters": False},
    "checks": {"positive_data_acceptance": {
        "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429"]}},
}
HYPOTHESIS = {"deadline": None, "database": None, "derandomize": True,
              "suppress_health_check": list(HealthCheck), "phases": [Phase.explicit, Phase.generate]}


class Tally:
    """The session token to send, and the answers counted by status class."""

    def __init__(self, token: str):
        self.headers = {"Authorization": f"Bearer {token}"}
        self.statuses = collections.Counter()

    def count(self, response) -> None:
        self.statuses[f"{response.status_code // 100}xx"] += 1

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def load_schema(platform, **checks):
    """The document of ``platform``, called through its WSGI app (the app the HTTP server runs)."""
    config = {**CONFIG, "checks": {**CONFIG["checks"], **checks}}
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", platform.app,
                                          config=SchemathesisConfig.from_dict(config))


def test_every_operation_passes_every_check(configured_platform):
    schema = load_schema(configured_platform)
    tally = Tally(configured_platform.token("fuzz", "org-fuzz"))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    unsatisfiable = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES_PER_OPERATION, **HYPOTHESIS)
            def check(case):
                response = case.call(headers=tally.headers)
                tally.count(response)
                case.validate_response(response, headers=tally.headers)

            try:
                check()
            except Unsatisfiable:  # nothing of this operation can be made schema-invalid (no parameters, any string)
                assert mode is GenerationMode.NEGATIVE, operation.label
                unsatisfiable.append(operation.label)
    print(f"\nschemathesis: {len(operations)} operations, {tally.requests} requests, {dict(tally.statuses)}; "
          f"no invalid input possible for {unsatisfiable}")
    assert tally.statuses["5xx"] == 0
    assert tally.requests >= len(operations) * 4


def test_stateful_links(configured_platform):
    # ``ignored_auth`` runs in the test above; in a stateful scenario its probe still carries the
    # scenario's session header, so it would report every authenticated answer.
    schema = load_schema(configured_platform, ignored_auth={"enabled": False})
    tally = Tally(configured_platform.token("fuzz", "org-fuzz"))
    links = {(source, target) for source, target in _links(schema.raw_schema)}
    assert ("post /api/v1/appointments", "changeAppointment") in links
    assert ("get /api/v1/connectors/{key}", "revokeConnector") in links

    class Workflow(schema.as_state_machine()):
        def before_call(self, case):
            # On the case itself (not the call's kwargs), so the ignored-auth probe can take it away.
            case.headers = {**(case.headers or {}), **tally.headers}

        def after_call(self, response, case):
            super().after_call(response, case)
            tally.count(response)

    Workflow.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS, **HYPOTHESIS))
    print(f"\nschemathesis stateful: {tally.requests} requests, {dict(tally.statuses)}")
    assert tally.statuses["5xx"] == 0
    assert tally.requests > STATEFUL_EXAMPLES


def _links(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                for link in response.get("links", {}).values():
                    yield f"{method} {path}", link["operationId"]
