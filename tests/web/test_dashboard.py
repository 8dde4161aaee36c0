"""The dashboard in headless Chromium against the platform served on loopback, plus its Flask routes.

The browser tests sign in through the development form, connect Google Calendar through the
fake Google's consent screen, pick a calendar, sync an appointment, see a 422 inline and
disconnect — what a person does on the page. A screenshot of the full dashboard is written to
``/tmp/dashboard.png`` for a human to look at (it is not an assertion).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from core.app import create_app
from tests.conftest import platform_env

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOT = Path("/tmp/dashboard.png")
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-US")

@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """One headless Chromium for the module, with a fresh profile and the browser console kept."""
    assert shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER), \
        "Install Debian's chromium and chromium-driver (bash .ci/run does)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(20)
    browser.set_script_timeout(20)
    yield browser
    browser.quit()


@pytest.fixture
def site(start_platform, fake_google, tmp_path, driver):
    """The platform with FRONTEND_URL left unset, so the OAuth callback lands on this dashboard."""
    env = platform_env(f"sqlite:///{tmp_path}/d.db", fake_google)
    del env["FRONTEND_URL"]  # defaults to APP_BASE_URL: the platform's own URL
    platform = start_platform(env)
    driver.delete_all_cookies()
    driver.get_log("browser")  # drop what earlier tests left
    yield platform
    problems = [entry["message"] for entry in driver.get_log("browser")
                if entry["level"] == "SEVERE" and not _expected_console_error(entry["message"])]
    assert not problems, f"JavaScript errors in the page: {problems}"


def _expected_console_error(message: str) -> bool:
    """HTTP errors the page handles itself, and the SDK's zod probing for eval, which the CSP refuses."""
    return "Failed to load resource" in message or ("/static/vendor/" in message and "script-src" in message)


def wait(driver, timeout: float = 10):
    """An explicit wait that polls often (the pages are local and fast)."""
    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))


def card(driver, key: str):
    """The grid card of connector ``key``."""
    return driver.find_element(By.CSS_SELECTOR, f'#grid [data-key="{key}"]')


def card_status(driver, key: str) -> str:
    """The status shown on connector ``key``'s card (``data-status``)."""
    return card(driver, key).get_attribute("data-status")


def text_of(driver, css: str) -> str:
    """The rendered text of the element matching ``css``."""
    return driver.find_element(By.CSS_SELECTOR, css).text


def sign_in(driver, url: str, user: str = "alice", org: str = "acme") -> None:
    """Sign in through the development form and wait for the grid."""
    driver.get(url + "/")
    wait(driver).until(EC.visibility_of_element_located((By.ID, "signin-form")))
    driver.find_element(By.ID, "signin-user").send_keys(user)
    driver.find_element(By.ID, "signin-org").send_keys(org)
    driver.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#grid [data-key="google_calendar"]'))


def click(driver, element) -> None:
    """Scroll ``element`` to the middle of the window (clear of the orb) and click it."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def confirm_dialog(driver) -> None:
    """Accept the page's confirmation dialog."""
    wait(driver).until(EC.visibility_of_element_located((By.ID, "confirm-dialog")))
    driver.find_element(By.ID, "confirm-ok").click()


def api_status(site, key: str, user: str = "alice", org: str = "acme") -> dict:
    """The connector's status as the API reports it to ``user`` (checked outside the browser)."""
    response = requests.get(site.api(f"/api/v1/connectors/{key}"),
                            headers={"Authorization": f"Bearer {site.token(user, org)}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_sign_in_connect_pick_calendar_sync_configure_disconnect(driver, site, fake_google):
    sign_in(driver, site.url)
    assert text_of(driver, "#identity-user") == "alice"
    assert text_of(driver, "#identity-org") == "acme"
    names = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "#grid .card h3")]
    assert {"Google Calendar", "Gmail", "Email (SMTP)"} <= set(names)
    assert card_status(driver, "google_calendar") == "inactive"
    # A connector whose client id the operator has not set says which variable to set.
    assert card_status(driver, "slack") == "not_configured"
    assert "SLACK_CLIENT_ID" in card(driver, "slack").find_element(By.CSS_SELECTOR, '[data-role="not-configured"]').text
    assert not card(driver, "slack").find_element(By.CSS_SELECTOR, '[data-action="connect"]').is_enabled()

    # Connect: the fake Google consents at once and sends the browser back through the callback.
    click(driver, card(driver, "google_calendar").find_element(By.CSS_SELECTOR, '[data-action="connect"]'))
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#callback[data-status="success"]'))
    assert text_of(driver, "#callback-title") == "Google Calendar is connected"
    wait(driver).until(lambda d: d.current_url.rstrip("/") == site.url)  # back on the grid, query cleaned
    wait(driver).until(lambda d: card_status(d, "google_calendar") == "active")
    gcal = card(driver, "google_calendar")
    assert gcal.find_element(By.CSS_SELECTOR, '[data-role="account"]').text == "alice@example.com"
    wait(driver).until(lambda d: "Google Calendar connected as alice@example.com" in text_of(d, "#toasts"))

    # Pick the "Work" calendar from the list the calendars route returns.
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#set-google_calendar-calendar_id option")) == 2)
    picker = Select(driver.find_element(By.ID, "set-google_calendar-calendar_id"))
    assert picker.first_selected_option.text == "alice@example.com (primary)"
    picker.select_by_visible_text("Work")
    wait(driver).until(lambda d: "Saved: Calendar." in card(d, "google_calendar").text)
    assert api_status(site, "google_calendar")["settings"]["calendar_id"] == "work-alice@group.calendar.google.com"

    # Switching sync off is saved; "Sync now" then shows the API's own message.
    click(driver, driver.find_element(By.ID, "set-google_calendar-sync_enabled"))
    wait(driver).until(lambda d: "Saved: Sync appointments." in card(d, "google_calendar").text)
    assert api_status(site, "google_calendar")["settings"]["sync_enabled"] is False
    sync_now = card(driver, "google_calendar").find_element(By.XPATH, './/button[text()="Sync now"]')
    click(driver, sync_now)
    wait(driver).until(lambda d: "Sync is switched off" in card(d, "google_calendar").text)
    click(driver, driver.find_element(By.ID, "set-google_calendar-sync_enabled"))
    wait(driver).until(lambda d: api_status(site, "google_calendar")["settings"]["sync_enabled"] is True)

    # An appointment created in the panel syncs to the Work calendar and shows its event id.
    form = driver.find_element(By.ID, "appointment-form")
    form.find_element(By.NAME, "title").send_keys("Consultation with Dr. Ruiz")
    form.find_element(By.NAME, "location").send_keys("Room 4")
    click(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    item = '#appointment-list .appointment[data-status="scheduled"]'
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, f'{item} [data-role="sync-status"]')
                       .get_attribute("textContent") == "Synced")
    event_id = text_of(driver, f'{item} [data-role="event-id"]')
    events = fake_google.events("alice@example.com", "work-alice@group.calendar.google.com")
    assert [e["summary"] for e in events if e["id"] == event_id] == ["Consultation with Dr. Ruiz"]

    # A config connector: a bad value comes back as a 422 shown in the form, next to the field.
    smtp = card(driver, "smtp")
    click(driver, smtp.find_element(By.CSS_SELECTOR, ".setup > summary"))
    values = {"host": "127.0.0.1", "port": "2525", "username": "alice", "password": "secret",
              "from_address": "not-an-email"}
    for name, value in values.items():
        field = smtp.find_element(By.ID, f"cfg-smtp-{name}")
        field.clear()
        field.send_keys(value)
    click(driver, smtp.find_element(By.CSS_SELECTOR, '[data-role="config-form"] button[type=submit]'))
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, '#grid [data-key="smtp"] [data-role="config-error"]').text)
    smtp = card(driver, "smtp")
    assert smtp.find_element(By.CSS_SELECTOR, '[data-role="config-error"]').text == "Some fields are invalid."
    assert smtp.find_element(By.ID, "cfg-smtp-from_address-error").text == "Not a valid email address."
    assert smtp.find_element(By.ID, "cfg-smtp-from_address").get_attribute("aria-invalid") == "true"
    assert card_status(driver, "smtp") == "inactive"

    driver.execute_script("window.scrollTo(0, 0)")
    driver.set_window_size(1280, driver.execute_script("return document.documentElement.scrollHeight"))
    driver.save_screenshot(str(SCREENSHOT))
    driver.set_window_size(1280, 1000)

    # Cancel the appointment from the list, then disconnect Google Calendar.
    click(driver, driver.find_element(By.CSS_SELECTOR, f'{item} .btn-danger'))
    confirm_dialog(driver)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#appointment-list .appointment[data-status="cancelled"]'))
    click(driver, card(driver, "google_calendar").find_element(By.CSS_SELECTOR, '[data-action="disconnect"]'))
    confirm_dialog(driver)
    wait(driver).until(lambda d: card_status(d, "google_calendar") == "inactive")
    wait(driver).until(lambda d: "Google Calendar disconnected." in text_of(d, "#toasts"))
    assert api_status(site, "google_calendar")["connected"] is False


def test_move_appointment_and_sign_out(driver, site):
    sign_in(driver, site.url, user="bob", org="globex")
    form = driver.find_element(By.ID, "appointment-form")
    form.find_element(By.NAME, "title").send_keys("Check-up")
    timezone = form.find_element(By.NAME, "timezone")
    timezone.clear()
    timezone.send_keys("Europe/Paris")
    driver.execute_script("""
        const f = document.getElementById('appointment-form');
        f.elements.starts_at.value = '2031-03-04T09:30';
        f.elements.ends_at.value = '2031-03-04T10:00';""")
    click(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    item = "#appointment-list .appointment"
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, item))
    listed = requests.get(site.api("/api/v1/appointments"), timeout=10,
                          headers={"Authorization": f"Bearer {site.token('bob', 'globex')}"}).json()
    created = listed["items"] if isinstance(listed, dict) else listed
    assert [(a["starts_at"][:19], a["timezone"]) for a in created] == [("2031-03-04T08:30:00", "Europe/Paris")]
    assert "(Europe/Paris)" in text_of(driver, item)

    click(driver, driver.find_element(By.CSS_SELECTOR, f"{item} [aria-expanded]"))
    move = driver.find_element(By.CSS_SELECTOR, f"{item} .move-form")
    assert move.find_element(By.NAME, "starts_at").get_attribute("value") == "2031-03-04T09:30"
    driver.execute_script("""
        const f = document.querySelector('.move-form');
        f.elements.starts_at.value = '2031-07-01T14:00';
        f.elements.ends_at.value = '2031-07-01T15:00';""")
    click(driver, move.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait(driver).until(lambda d: "Moved “Check-up”." in text_of(d, "#toasts"))
    moved = requests.get(site.api(f"/api/v1/appointments/{created[0]['id']}"), timeout=10,
                         headers={"Authorization": f"Bearer {site.token('bob', 'globex')}"}).json()
    assert moved["starts_at"][:19] == "2031-07-01T12:00:00"  # summer time in Paris: UTC+2

    driver.find_element(By.ID, "signout").click()
    wait(driver).until(EC.visibility_of_element_located((By.ID, "signin-form")))
    assert not driver.find_element(By.ID, "app").is_displayed()
    assert driver.get_cookie("session") is None


def test_orb_shows_why_voice_is_unavailable(driver, site):
    sign_in(driver, site.url)
    answer = requests.post(site.api("/api/v1/realtime/client-secret"), timeout=10,
                           headers={"Authorization": f"Bearer {site.token('alice', 'acme')}"})
    assert answer.status_code >= 400  # no OPENAI_API_KEY here: never a real session
    expected = ("Voice is not available on this server yet." if answer.status_code in (404, 405, 501)
                else answer.json()["message"])
    driver.find_element(By.ID, "orb").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "orb").get_attribute("data-state") == "error")
    assert text_of(driver, "#orb-status") == expected


def test_orb_builds_the_agent_the_server_describes(driver, site):
    """The vendored SDK loads, and the agent's session config carries the server's instructions and tools."""
    driver.get(site.url + "/")
    wait(driver).until(EC.presence_of_element_located((By.ID, "signin")))
    result = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        (async () => {
          const orb = await import('/static/orb.js');
          const sdk = await import(orb.SDK_URL);
          const calls = [];
          const setup = orb.normalizeSetup({value: 'ek_test', expires_at: 123}, {
            instructions: 'You are Donna.', model: 'gpt-realtime', voice: 'marin',
            tools: [{type: 'function', name: 'smtp__send_email', description: 'Send an email.',
                     parameters: {type: 'object', properties: {to: {type: 'string'}},
                                  required: ['to'], additionalProperties: false}},
                    {type: 'function', name: 'list_connectors', description: 'List connectors.'}]});
          const agent = orb.buildAgent(sdk, setup, async (name, args) => { calls.push([name, args]); return '{}'; });
          const config = await sdk.RealtimeSession.computeInitialSessionConfig(agent, {model: setup.model});
          const session = orb.buildSession(sdk, agent, setup);
          await agent.tools[0].invoke({}, '{"to": "bob@example.com"}');
          return {value: setup.value, config, calls, webrtc: session.transport instanceof sdk.OpenAIRealtimeWebRTC,
                  fromList: orb.normalizeSetup({value: 'ek_2'}, [{type: 'function', name: 'x'}]).tools.length};
        })().then(done, (e) => done({error: String(e && e.stack || e)}));
    """)
    assert "error" not in result, result.get("error")
    config = result["config"]
    assert result["value"] == "ek_test"
    assert config["instructions"] == "You are Donna."
    assert (config["voice"], config["model"]) == ("marin", "gpt-realtime")
    assert [t["name"] for t in config["tools"]] == ["smtp__send_email", "list_connectors"]
    assert config["tools"][0]["parameters"]["required"] == ["to"]
    assert result["calls"] == [["smtp__send_email", {"to": "bob@example.com"}]]
    assert result["webrtc"] is True
    assert result["fromList"] == 1


# ------------------------------------------------------------ routes, without a browser


def test_callback_page_reports_errors_and_refuses_open_redirects(start_platform, fake_google, tmp_path):
    site = start_platform(platform_env(f"sqlite:///{tmp_path}/c.db", fake_google))
    page = requests.get(site.url + "/connectors/callback/google_calendar",
                        params={"status": "error", "error": "access_denied", "return_to": "https://evil.test/"},
                        timeout=10)
    assert page.status_code == 200
    assert "Google Calendar was not connected" in page.text
    assert "You declined the request" in page.text
    assert 'href="/"' in page.text and "evil.test" not in page.text
    assert 'http-equiv="refresh"' not in page.text  # an error stays on screen
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]

    done = requests.get(site.url + "/connectors/callback/google_calendar", params={"status": "success"}, timeout=10)
    assert 'content="2;url=/?connected=google_calendar"' in done.text
    assert "/static/icons/google_calendar.svg" in done.text

    unknown = requests.get(site.url + "/connectors/callback/nope", params={"status": "error", "error": "x"}, timeout=10)
    assert unknown.status_code == 200 and "/static/icons/generic.svg" in unknown.text


def test_dev_session_sets_an_httponly_cookie_the_api_accepts(start_platform, fake_google, tmp_path):
    site = start_platform(platform_env(f"sqlite:///{tmp_path}/s.db", fake_google))
    browser = requests.Session()
    refused = browser.post(site.url + "/dev/session", json={"user": " ", "org": "acme"}, timeout=10)
    assert refused.status_code == 422
    assert refused.json()["errors"]["json"] == {"user": ["User id is required."]}
    as_form = browser.post(site.url + "/dev/session", data={"user": "alice", "org": "acme"}, timeout=10)
    assert as_form.status_code == 422 and "session" not in browser.cookies

    signed = browser.post(site.url + "/dev/session", json={"user": "alice", "org": "acme"}, timeout=10)
    assert signed.status_code == 200
    assert signed.json() == {"user": "alice", "org": "acme", "expires_in": 8 * 3600}
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert browser.get(site.api("/api/v1/connectors"), timeout=10).status_code == 200
    page = browser.get(site.url + "/", timeout=10).text
    assert 'data-user="alice"' in page and 'data-org="acme"' in page

    assert browser.post(site.url + "/dev/logout", timeout=10).json() == {"signed_out": True}
    assert "session" not in browser.cookies
    assert browser.get(site.api("/api/v1/connectors"), timeout=10).status_code == 401
    assert 'data-user=""' in browser.get(site.url + "/", timeout=10).text


def test_dev_session_is_refused_in_production(fake_google, tmp_path):
    env = platform_env(f"sqlite:///{tmp_path}/p.db", fake_google, APP_ENV="production",
                       APP_BASE_URL="https://connectors.example.com")
    app = create_app(env, instance_path=str(tmp_path / "instance"))
    client = app.test_client()
    for path in ("/dev/session", "/dev/logout"):
        answer = client.post(path, json={"user": "alice", "org": "acme"})
        assert answer.status_code == 404
        assert answer.json["code"] == 404 and "production" in answer.json["message"]
        assert "Set-Cookie" not in answer.headers
    page = client.get("/")
    assert page.status_code == 200
    assert b'id="signin-form"' not in page.data and b"Open this dashboard from your Cassius account" in page.data
    assert b'data-dev-signin="false"' in page.data


def test_a_colleagues_appointment_is_shown_without_move_or_cancel(driver, site):
    owner = {"Authorization": f"Bearer {site.token('alice', 'acme')}"}
    body = {"title": "Alice's check-up", "starts_at": "2031-03-04T09:30:00+00:00",
            "ends_at": "2031-03-04T10:00:00+00:00"}
    assert requests.post(site.api("/api/v1/appointments"), json=body, headers=owner, timeout=10).status_code == 201
    sign_in(driver, site.url, user="bob", org="acme")
    item = "#appointment-list .appointment"
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, item))
    assert "Alice's check-up" in text_of(driver, item)
    assert driver.find_elements(By.CSS_SELECTOR, f"{item} .appointment-actions") == []
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", driver.find_element(By.CSS_SELECTOR, item))
    driver.save_screenshot("/tmp/dashboard-colleague.png")
