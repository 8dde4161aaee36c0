"""The Twilio connector through the HTTP API against a fake Twilio REST API on loopback."""
from __future__ import annotations

import pytest

from tests.connectors.helpers import ORG, USER, accepted_config, configure, refused_config, revoked, run, signed_in, status
from tests.fakes.twilio import FakeTwilio

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-0042"
NUMBER = "+14155550100"
GOOD = {"account_sid": SID, "auth_token": TOKEN, "from_number": NUMBER}


@pytest.fixture
def fake_twilio():
    with FakeTwilio() as fake:
        fake.add_account(SID, TOKEN, numbers=[NUMBER])
        yield fake


def start(start_platform, database_url, fake):
    """The platform with Twilio pointed at ``fake``; a browser signed in as USER."""
    return signed_in(start_platform, database_url, TWILIO_API_ROOT=fake.url)


@pytest.fixture
def connected(start_platform, tmp_path, fake_twilio):
    """The platform on SQLite with USER's Twilio connected."""
    p, user = start(start_platform, f"sqlite:///{tmp_path}/x.db", fake_twilio)
    accepted_config(p, user, "twilio", GOOD, "auth_token")
    return p, user


def test_connect_send_and_revoke(start_platform, database_url, fake_twilio):
    p, user = start(start_platform, database_url, fake_twilio)
    bad = refused_config(p, user, "twilio", {**GOOD, "auth_token": "wrong-token-123"}, USER, ORG, "wrong-token-123")
    assert bad["message"] == "Twilio refused the Account SID or Auth Token."
    assert bad["errors"] == {"reason": "invalid_credentials", "cause": "auth", "field": "auth_token"}

    assert accepted_config(p, user, "twilio", GOOD, "auth_token")["account"] == "Alice's account"
    sent = run(p, user, "twilio", "send_sms", to="+442071838750", body="Your appointment is at 3 pm.")
    assert sent.status_code == 200, sent.text
    [message] = fake_twilio.messages
    assert sent.json()["result"] == {"sid": message["sid"], "status": "queued", "to": "+442071838750",
                                     "from": NUMBER}
    assert (message["from"], message["body"]) == (NUMBER, "Your appointment is at 3 pm.")

    revoked(p, user, "twilio", USER, ORG)
    assert run(p, user, "twilio", "send_sms", to="+442071838750", body="x").json()["errors"]["reason"] == \
        "not_connected"


def test_invalid_recipient_is_invalid_input(connected, fake_twilio):
    p, user = connected
    answer = run(p, user, "twilio", "send_sms", to="12", body="Hi")
    assert answer.status_code == 422
    assert answer.json()["errors"] == {"reason": "invalid_input", "field": "to", "twilio_code": 21211}
    assert fake_twilio.messages == []


def test_refused_stored_token_needs_reauth(connected, fake_twilio):
    p, user = connected
    fake_twilio.accounts[SID]["token"] = "rotated-token"
    answer = run(p, user, "twilio", "send_sms", to="+442071838750", body="Hi")
    assert answer.status_code == 409 and answer.json()["errors"]["reason"] == "needs_reauth"
    assert TOKEN not in answer.text
    assert status(p, user, "twilio")["status"] == "needs_reauth"


def test_rate_limit_is_passed_on_with_retry_after(connected, fake_twilio):
    p, user = connected
    fake_twilio.inject(429, path_contains="/Messages.json", headers={"Retry-After": "7"})
    answer = run(p, user, "twilio", "send_sms", to="+442071838750", body="Hi")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    assert answer.json()["errors"] == {"reason": "rate_limited", "retry_after": 7}


@pytest.mark.parametrize("values, field", [
    ({"account_sid": "AC123"}, "account_sid"), ({"account_sid": "../../x"}, "account_sid"),
    ({"from_number": "555-0100"}, "from_number"),
])
def test_malformed_values_are_refused_before_calling_twilio(start_platform, tmp_path, fake_twilio, values, field):
    p, user = start(start_platform, f"sqlite:///{tmp_path}/x.db", fake_twilio)
    body = refused_config(p, user, "twilio", {**GOOD, **values}, USER, ORG, TOKEN)
    assert body["errors"]["field"] == field
    assert fake_twilio.requests == []


def test_unreachable_twilio_is_a_422_at_connect(start_platform, tmp_path, fake_twilio):
    p, user = start(start_platform, f"sqlite:///{tmp_path}/x.db", fake_twilio)
    fake_twilio.stop()
    answer = configure(p, user, "twilio", GOOD)
    assert answer.status_code == 422 and answer.json()["message"] == "Twilio could not be reached; try again."
