"""The dashboard in headless Chromium (in French) against the platform served on loopback, plus its
Flask routes.

The browser tests do what a person does on the page: sign in, read the grid, change language,
create, edit and cancel appointments while they sync, and meet the voice orb. Each finding a
person could meet has a test here that fails if it comes back.
"""
from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from core.app import create_app
from tests.conftest import platform_env
from tests.web.conftest import (accessibility_problems, api_get, click, click_css, confirm_dialog,
                                connect_google_in_browser, screenshot, sign_in, tab_to, text_of, wait)

ITEM = "#appointment-list .appointment"


def card(driver, key: str):
    """The grid card of connector ``key``."""
    return driver.find_element(By.CSS_SELECTOR, f'#grid [data-key="{key}"]')


def fill_appointment(form, **values) -> None:
    """Type ``values`` into the appointment ``form`` (datetime-local values are set by script)."""
    driver = form.parent
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        if field.get_attribute("type") == "datetime-local":
            driver.execute_script("arguments[0].value = arguments[1]", field, value)
        else:
            field.clear()
            field.send_keys(value)


def test_sign_in_grid_in_french_and_language_switch(driver, site):
    sign_in(driver, site.url)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert text_of(driver, "#identity-user") == "alice"
    assert text_of(driver, "#connectors-title") == "Connecteurs"
    assert driver.find_element(By.CSS_SELECTOR, ".env-badge").text.lower() == "test"
    gcal = card(driver, "google_calendar")
    assert gcal.find_element(By.CSS_SELECTOR, '[data-role="status"]').text == "Non connecté"
    # A connector the operator has not set up: words for the user, no variable names.
    slack = card(driver, "slack")
    assert slack.get_attribute("data-status") == "not_configured"
    assert "demandez à votre administrateur" in slack.text
    assert "SLACK_CLIENT_ID" not in driver.find_element(By.ID, "grid").text
    screenshot(driver, "dashboard")

    # English, saved on the user: the page and the API both follow it, whatever the browser says.
    Select(driver.find_element(By.ID, "language")).select_by_value("en")
    wait(driver).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
    wait(driver).until(lambda d: text_of(d, "#connectors-title") == "Connectors")
    assert driver.find_element(By.CSS_SELECTOR, ".env-badge").text.lower() == "testing"
    assert api_get(site, "/api/v1/me")["saved_locale"] == "en"
    Select(driver.find_element(By.ID, "language")).select_by_value("fr")
    wait(driver).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr")


def test_appointments_wait_for_the_calendar_then_sync_edit_and_cancel(driver, site, fake_google):
    sign_in(driver, site.url)
    form = driver.find_element(By.ID, "appointment-form")
    fill_appointment(form, title="Consultation Mme Petit", timezone="Europe/Paris",
                     starts_at="2031-03-04T14:00", ends_at="2031-03-04T13:00")
    click(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    # The end before the start: said in words, once, on the field it concerns.
    wait(driver).until(lambda d: text_of(d, "#appt-end-error"))
    assert text_of(driver, "#appt-end-error") == "La fin doit être après le début."
    assert text_of(driver, "#appointment-error") == "Vérifiez les champs signalés."
    assert driver.find_element(By.ID, "appt-end").get_attribute("aria-invalid") == "true"
    assert "ends_at" not in driver.find_element(By.ID, "appointment-form").text
    assert accessibility_problems(driver) == []

    fill_appointment(form, ends_at="2031-03-04T14:30")
    click(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ITEM))
    assert not driver.find_element(By.ID, "appt-end").get_attribute("aria-invalid")
    # Dates in French, 24-hour clock, in the appointment's own time zone.
    when = text_of(driver, f"{ITEM} .appointment-when")
    assert "14:00" in when and "14:30" in when and "mars" in when and "(Europe/Paris)" in when
    # No calendar is connected: the row says what it waits for and links to connect one.
    state = driver.find_element(By.CSS_SELECTOR, f'{ITEM} [data-role="sync-status"]')
    assert state.text == "En attente de la connexion d’un agenda"
    links = {a.text: a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, f'{ITEM} [data-role="sync-link"]')}
    assert links["Connecter Google Calendar"] == site.url + "/settings/integrations/google-calendar"

    connect_google_in_browser(driver, site)
    driver.get(site.url + "/")
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ITEM))
    # Connecting sends what was waiting.
    wait(driver, 20).until(lambda d: text_of(d, f'{ITEM} [data-role="sync-status"]') == "Dans l’agenda")
    events = fake_google.events("alice@example.com")
    assert [e["summary"] for e in events] == ["Consultation Mme Petit"]
    link = driver.find_element(By.CSS_SELECTOR, f'{ITEM} [data-role="event-link"]').get_attribute("href")
    eid = parse_qs(urlparse(link).query)["eid"][0]
    assert base64.b64decode(eid + "=" * (-len(eid) % 4)).decode() == f"{events[0]['id']} alice@example.com"
    assert events[0]["id"] not in driver.find_element(By.ID, "appointment-list").text  # no raw ids shown
    screenshot(driver, "appointments")

    # Edit every field.
    click_css(driver, f'{ITEM} [data-action="edit"]')
    edit = driver.find_element(By.CSS_SELECTOR, f"{ITEM} .edit-form")
    fill_appointment(edit, title="Bilan Mme Petit", location="Cabinet, salle 2", notes="Apporter les radios",
                     starts_at="2031-07-01T09:00", ends_at="2031-07-01T09:45", timezone="Europe/Paris")
    click(driver, edit.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait(driver).until(lambda d: "Enregistré « Bilan Mme Petit »." in text_of(d, "#toasts")
                       or "Bilan Mme Petit" in text_of(d, ITEM))
    items = api_get(site, "/api/v1/appointments")
    item = (items["items"] if isinstance(items, dict) else items)[0]
    assert (item["title"], item["location"], item["notes"], item["starts_at"][:19]) == \
        ("Bilan Mme Petit", "Cabinet, salle 2", "Apporter les radios", "2031-07-01T07:00:00")
    wait(driver, 20).until(lambda d: [e["summary"] for e in fake_google.events("alice@example.com")] == ["Bilan Mme Petit"])

    # Cancel: asks first, then the row says it left the calendar.
    click_css(driver, f'{ITEM} [data-action="cancel"]')
    confirm_dialog(driver)
    wait(driver, 20).until(lambda d: text_of(d, f'{ITEM} [data-role="sync-status"]') == "Retiré de l’agenda")


def test_an_appointment_cancelled_before_it_synced_never_says_it_left_the_calendar(driver, site):
    sign_in(driver, site.url, user="carla", org="acme")
    form = driver.find_element(By.ID, "appointment-form")
    fill_appointment(form, title="Rappel", timezone="Europe/Paris", starts_at="2031-05-02T10:00", ends_at="2031-05-02T10:15")
    click(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ITEM))
    click_css(driver, f'{ITEM} [data-action="cancel"]')
    confirm_dialog(driver)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, f'{ITEM}[data-status="cancelled"]'))
    assert text_of(driver, f'{ITEM} [data-role="sync-status"]') == "Jamais envoyé à l’agenda"


def test_the_poll_never_destroys_a_form_being_edited(driver, site, fake_google):
    sign_in(driver, site.url, user="dan", org="acme")
    connect_google_in_browser(driver, site)
    fake_google.inject(503, times=1000, path_contains="/events")  # Google keeps failing: the change stays pending
    driver.get(site.url + "/")
    form = wait(driver).until(lambda d: d.find_element(By.ID, "appointment-form"))
    fill_appointment(form, title="Suivi", timezone="Europe/Paris", starts_at="2031-06-03T11:00", ends_at="2031-06-03T11:30")
    click(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait(driver).until(lambda d: text_of(d, f'{ITEM} [data-role="sync-status"]') == "En cours d’envoi vers l’agenda…")
    click_css(driver, f'{ITEM} [data-action="edit"]')
    title = driver.find_element(By.CSS_SELECTOR, f"{ITEM} .edit-form [name=title]")
    title.send_keys(Keys.END, " (modifié)")
    before = driver.find_element(By.CSS_SELECTOR, f'{ITEM} [data-role="meta"]')

    def polled(d):
        try:
            return before.tag_name is None  # reading it raises once the row's state was replaced
        except StaleElementReferenceException:
            return True

    wait(driver, 15).until(polled)  # the 2-second poll refreshed the row's state…
    assert title.get_attribute("value") == "Suivi (modifié)"  # …and the form, its text and focus survived
    assert driver.switch_to.active_element == title


def test_orb_shows_why_voice_is_unavailable(driver, site):
    sign_in(driver, site.url)
    answer = requests.post(site.api("/api/v1/realtime/client-secret"), timeout=10,
                           headers={"Authorization": f"Bearer {site.token('alice', 'acme')}",
                                    "Accept-Language": "fr"})
    assert answer.status_code == 503  # no OPENAI_API_KEY here: never a real session
    driver.find_element(By.ID, "orb").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "orb").get_attribute("data-state") == "error")
    assert text_of(driver, "#orb-status") == answer.json()["message"]
    assert "OPENAI_API_KEY" not in text_of(driver, "#orb-status")
    assert "administrateur" in text_of(driver, "#orb-status")


def test_the_orb_never_covers_the_pages_content(driver, site):
    sign_in(driver, site.url)
    # Words wrap between words, never inside one ("calend ar").
    assert driver.execute_script(
        "return [...document.querySelectorAll('main *')].filter((e) => getComputedStyle(e).wordBreak === 'break-all').length") == 0
    # On a wide screen the orb has its own column; on a phone it is a bar at the bottom.
    for width, height, where in ((1280, 900, "end"), (390, 844, "center")):
        driver.set_window_size(width, height)
        for pill in driver.find_elements(By.CSS_SELECTOR, '#grid [data-role="status"]'):
            driver.execute_script("arguments[0].scrollIntoView({block: arguments[1]})", pill, where)
            covered = driver.execute_script("""
                const r = arguments[0].getBoundingClientRect();
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                const hit = document.elementFromPoint(x, y);
                return hit && !arguments[0].contains(hit) ? hit.outerHTML.slice(0, 80) : null;""", pill)
            assert covered is None, f"at {width}px a status is covered by {covered}"
    driver.set_window_size(1280, 1000)


def test_a_phone_never_scrolls_sideways(driver, site):
    """At a phone's width the top bar (badge, language, account, sign-out) wraps: no page is wider
    than the screen, in French or English, and the sign-out button stays on screen."""
    sign_in(driver, site.url)
    driver.set_window_size(390, 844)
    try:
        for language in ("fr", "en"):
            Select(driver.find_element(By.ID, "language")).select_by_value(language)
            wait(driver).until(lambda d, lang=language: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang)
            for path in ("/", "/settings/integrations/google-calendar", "/settings/integrations/smtp"):
                driver.get(site.url + path)
                wait(driver).until(lambda d: d.find_element(By.ID, "signout").is_displayed())
                wide = driver.execute_script(
                    "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
                assert wide[0] <= wide[1], f"{path} in {language} is {wide[0]}px wide on a {wide[1]}px screen"
                right = driver.execute_script("return document.getElementById('signout').getBoundingClientRect().right")
                assert right <= wide[1], f"sign-out is off screen on {path} in {language}"
    finally:
        Select(driver.find_element(By.ID, "language")).select_by_value("fr")
        wait(driver).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr")
        driver.set_window_size(1280, 1000)


def test_keyboard_only_connect_settings_and_appointments(driver, site, fake_google):
    """Everything a person does here can be done with the keyboard alone, with the focus always visible."""
    driver.get(site.url + "/")
    wait(driver).until(lambda d: d.switch_to.active_element.get_attribute("id") == "signin-user")
    assert accessibility_problems(driver) == []
    ActionChains(driver).send_keys("eve", Keys.TAB, "acme", Keys.ENTER).perform()
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#grid [data-key="google_calendar"]'))
    assert accessibility_problems(driver) == []

    tab_to(driver, '[data-key="google_calendar"] a[data-role="settings-link"]').send_keys(Keys.ENTER)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#connector-page[data-status="inactive"]'))
    assert accessibility_problems(driver) == []
    tab_to(driver, '[data-action="connect"]').send_keys(Keys.ENTER)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#connector-page[data-status="active"]'))
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#set-google_calendar-calendar_id option")) == 2)
    assert accessibility_problems(driver) == []
    tab_to(driver, "#set-google_calendar-sync_enabled").send_keys(Keys.SPACE)
    wait(driver).until(lambda d: not d.find_element(By.CSS_SELECTOR, '[data-action="sync-now"]').is_enabled())
    assert api_get(site, "/api/v1/connectors/google_calendar", user="eve")["settings"]["sync_enabled"] is False
    driver.find_element(By.ID, "set-google_calendar-sync_enabled").send_keys(Keys.SPACE)
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-action="sync-now"]').is_enabled())
    screenshot(driver, "settings-google-calendar")

    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    tab_to(driver, ".breadcrumbs a").send_keys(Keys.ENTER)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#appointment-form"))
    tab_to(driver, "#appt-title").send_keys("Entretien", Keys.ENTER)
    wait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ITEM)
                           and text_of(d, f'{ITEM} [data-role="sync-status"]') == "Dans l’agenda")
    tab_to(driver, f'{ITEM} [data-action="edit"]').send_keys(Keys.ENTER)
    title = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, f"{ITEM} .edit-form [name=title]"))
    assert driver.switch_to.active_element == title
    assert accessibility_problems(driver) == []
    title.send_keys(" annuel", Keys.ENTER)
    wait(driver, 20).until(lambda d: [e["summary"] for e in fake_google.events("alice@example.com")] == ["Entretien annuel"])
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, f"{ITEM} .edit-form"))
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    tab_to(driver, f'{ITEM} [data-action="cancel"]').send_keys(Keys.ENTER)
    wait(driver).until(lambda d: d.find_element(By.ID, "confirm-dialog").is_displayed())
    assert accessibility_problems(driver) == []
    tab_to(driver, "#confirm-ok").send_keys(Keys.ENTER)
    wait(driver, 20).until(lambda d: text_of(d, f'{ITEM} [data-role="sync-status"]') == "Retiré de l’agenda")


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
    assert "Google Calendar n’a pas été connecté" in page.text
    assert "Vous avez refusé la demande" in page.text
    assert 'href="/settings/integrations/google-calendar"' in page.text and "evil.test" not in page.text
    assert "callback.js" not in page.text  # an error stays on screen
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]

    # "success" in the query string proves nothing: the page checks the API before saying so.
    done = requests.get(site.url + "/connectors/callback/google_calendar", params={"status": "success"}, timeout=10)
    assert 'data-status="checking"' in done.text and "callback.js" in done.text
    assert "est connecté" not in done.text
    assert "/connectors/google_calendar/icon" in done.text
    icon = requests.get(site.url + "/connectors/google_calendar/icon", timeout=10)  # from the plugin's package
    assert icon.status_code == 200 and icon.headers["Content-Type"].startswith("image/svg+xml") and b"<svg" in icon.content
    assert requests.get(site.url + "/connectors/nope/icon", timeout=10).status_code == 404

    unknown = requests.get(site.url + "/connectors/callback/nope", params={"status": "error", "error": "x"}, timeout=10)
    assert unknown.status_code == 200 and "/static/icons/generic.svg" in unknown.text


def test_dev_session_sets_an_httponly_cookie_the_api_accepts(start_platform, fake_google, tmp_path):
    site = start_platform(platform_env(f"sqlite:///{tmp_path}/s.db", fake_google))
    browser = requests.Session()
    refused = browser.post(site.url + "/dev/session", json={"user": " ", "org": "acme"}, timeout=10)
    assert refused.status_code == 422
    assert refused.json()["errors"]["json"] == {"user": ["Saisissez un identifiant."]}
    as_form = browser.post(site.url + "/dev/session", data={"user": "alice", "org": "acme"}, timeout=10)
    assert as_form.status_code == 422 and "session" not in browser.cookies

    signed = browser.post(site.url + "/dev/session", json={"user": "alice", "org": "acme"}, timeout=10)
    assert signed.status_code == 200
    assert signed.json() == {"user": "alice", "org": "acme", "expires_in": 8 * 3600, "locale": "fr"}
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
    html = page.get_data(as_text=True)
    assert 'id="signin-form"' not in html and "Ouvrez ce tableau de bord depuis votre compte Cassius" in html
    assert 'data-dev-signin="false"' in html


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
