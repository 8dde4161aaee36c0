"""The orb, end to end: the browser SDK talks to a scripted Realtime server over WebSocket, which
calls our tools; the browser runs them through ``POST /api/v1/tools/<name>/invoke`` with the
user's session and sends their output back. Plus the orb's plain messages when voice cannot start.
"""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.fakes.openai import FakeOpenAI
from tests.fakes.realtime import FakeRealtime
from tests.web.conftest import accessibility_problems, click, connect_google_in_browser, new_driver, screenshot, sign_in, text_of, wait

LIST_EVENTS = {"day": None, "start": "2031-03-04T00:00", "end": "2031-03-05T00:00", "timezone": "Europe/Paris",
               "query": None, "max_results": None}
ANSWER = "Vous avez un rendez-vous le 4 mars à 9 h 30 : Bilan."


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def realtime():
    with FakeRealtime([("list_connectors", {}), ("google_calendar__list_events", LIST_EVENTS)], ANSWER) as fake:
        yield fake


@pytest.fixture
def site_env(fake_openai, realtime):
    return {"OPENAI_API_KEY": fake_openai.api_key, "OPENAI_BASE_URL": fake_openai.url + "/v1",
            "REALTIME_TEST_WEBSOCKET_URL": realtime.url}


def record_orb_states(driver) -> None:
    """Keep every state the orb shows in ``window.orbStates`` (an observer of its ``data-state``)."""
    driver.execute_script("""
        const orb = document.getElementById('orb');
        window.orbStates = [orb.dataset.state];
        new MutationObserver(() => window.orbStates.push(orb.dataset.state))
          .observe(orb, {attributes: true, attributeFilter: ['data-state']});""")


def test_the_orb_runs_the_tools_the_model_calls_and_returns_their_output(driver, site, fake_google, fake_openai,
                                                                          realtime):
    sign_in(driver, site.url)
    connect_google_in_browser(driver, site)
    fake_google.add_event("alice@example.com", {"summary": "Bilan", "start": {"dateTime": "2031-03-04T09:30:00+01:00"},
                                                "end": {"dateTime": "2031-03-04T10:00:00+01:00"}})
    driver.get(site.url + "/")
    wait(driver).until(lambda d: d.find_element(By.ID, "orb-dock").is_displayed())
    record_orb_states(driver)
    click(driver, driver.find_element(By.ID, "orb"))
    wait(driver, 20).until(lambda d: len(realtime.outputs) == 2 and d.find_elements(By.CSS_SELECTOR, "#orb-transcript li"))

    # The session the SDK opened: the realtime subprotocol, the server's instructions, in French.
    assert realtime.subprotocols == ["realtime"]
    assert realtime.session["instructions"].startswith("Tu es Donna")
    assert realtime.session["audio"]["output"]["voice"] == "marin" and realtime.session["model"] == "gpt-realtime"
    assert fake_openai.client_secrets[0]["session"]["instructions"].startswith("Tu es Donna")

    # Each call reached our tools as alice, and its output went back to the server.
    connectors = realtime.output_of("list_connectors")
    listed = connectors["result"] if "result" in connectors else connectors
    assert "google_calendar" in str(listed) and "alice@example.com" in str(listed)
    events = realtime.output_of("google_calendar__list_events")
    assert events["ok"] is True and [e["title"] for e in events["result"]["events"]] == ["Bilan"]
    follow_ups = [e["type"] for e in realtime.received if e["type"] == "response.create"]
    assert len(follow_ups) >= 2

    # What the person saw: the states and a short transcript.
    states = driver.execute_script("return window.orbStates")
    for state in ("connecting", "listening", "thinking", "speaking"):
        assert state in states, states
    assert text_of(driver, "#orb-transcript").endswith(ANSWER)
    assert accessibility_problems(driver) == []
    screenshot(driver, "orb")
    click(driver, driver.find_element(By.ID, "orb"))  # hang up
    wait(driver).until(lambda d: d.find_element(By.ID, "orb").get_attribute("data-state") == "idle")


def test_a_refused_microphone_is_said_plainly(site, realtime, tmp_path):
    browser = new_driver(tmp_path / "profile", microphone=False)
    try:
        sign_in(browser, site.url)
        click(browser, browser.find_element(By.ID, "orb"))
        wait(browser).until(lambda d: d.find_element(By.ID, "orb").get_attribute("data-state") == "error")
        assert text_of(browser, "#orb-status") == \
            "Donna a besoin de votre micro : autorisez-le dans le navigateur, puis réessayez."
        assert realtime.received == []
    finally:
        browser.quit()


def test_a_refused_client_secret_is_said_plainly(driver, site, fake_openai, realtime):
    fake_openai.inject(401, path_contains="client_secrets")  # OpenAI refuses the platform's key
    sign_in(driver, site.url)
    click(driver, driver.find_element(By.ID, "orb"))
    wait(driver).until(lambda d: d.find_element(By.ID, "orb").get_attribute("data-state") == "error")
    assert text_of(driver, "#orb-status") == \
        "Le service vocal a refusé de démarrer la conversation. Réessayez plus tard."
    assert accessibility_problems(driver) == []
    assert realtime.received == []
