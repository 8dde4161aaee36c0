"""A connector's own settings page, in French: /settings/integrations/google-calendar and the others.

A person connects Google through the page, comes back to it through the callback page, picks a
calendar, switches sync off and on, syncs now and disconnects — all in words, none of them an
API instruction or an operator's variable.
"""
from __future__ import annotations

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.web.conftest import accessibility_problems, api_get, click, confirm_dialog, screenshot, sign_in, text_of, wait

GCAL = "/settings/integrations/google-calendar"


def page_status(driver) -> str:
    return driver.find_element(By.ID, "connector-page").get_attribute("data-status") or ""


def open_settings(driver, site, path: str = GCAL) -> None:
    driver.get(site.url + path)
    wait(driver).until(lambda d: page_status(d))


def test_connect_pick_calendar_sync_and_disconnect_from_the_settings_page(driver, site, fake_google):
    sign_in(driver, site.url)
    # The grid links to each connector's page.
    link = driver.find_element(By.CSS_SELECTOR, '#grid [data-key="google_calendar"] a[data-role="settings-link"]')
    assert link.get_attribute("href") == site.url + GCAL
    click(driver, link)
    wait(driver).until(lambda d: page_status(d) == "inactive")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert text_of(driver, "#connector-status") == "Non connecté"

    # "Connecter Google" → the fake Google consents → the callback page checks → back here.
    connect = driver.find_element(By.CSS_SELECTOR, '[data-action="connect"]')
    assert connect.text == "Connecter Google"
    click(driver, connect)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#callback[data-status="success"]'))
    assert text_of(driver, "#callback-title") == "Google Calendar est connecté"
    assert "alice@example.com" in text_of(driver, "#callback-text")
    assert accessibility_problems(driver) == []
    wait(driver).until(lambda d: d.current_url == site.url + GCAL)
    wait(driver).until(lambda d: page_status(d) == "active")
    assert text_of(driver, '[data-role="account"]') == "alice@example.com"
    assert text_of(driver, "#connector-status") == "Connecté"

    # The calendar picker lists the account's calendars; picking one is saved.
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#set-google_calendar-calendar_id option")) == 2)
    picker = Select(driver.find_element(By.ID, "set-google_calendar-calendar_id"))
    assert picker.first_selected_option.text == "alice@example.com (agenda principal)"
    assert accessibility_problems(driver) == []
    picker.select_by_visible_text("Work")
    wait(driver).until(lambda d: text_of(d, '[data-role="settings-note"]').startswith("Enregistré"))
    assert api_get(site, "/api/v1/connectors/google_calendar")["settings"]["calendar_id"] == \
        "work-alice@group.calendar.google.com"

    # Sync off: "Synchroniser maintenant" is disabled with a hint in words, never an API call to make.
    sync_now = driver.find_element(By.CSS_SELECTOR, '[data-action="sync-now"]')
    assert sync_now.text == "Synchroniser maintenant"
    click(driver, driver.find_element(By.ID, "set-google_calendar-sync_enabled"))
    wait(driver).until(lambda d: not d.find_element(By.CSS_SELECTOR, '[data-action="sync-now"]').is_enabled())
    assert "désactivée" in text_of(driver, '[data-role="sync-state"]')
    assert "PATCH" not in driver.find_element(By.ID, "connector-page").text
    click(driver, driver.find_element(By.ID, "set-google_calendar-sync_enabled"))
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-action="sync-now"]').is_enabled())
    assert api_get(site, "/api/v1/connectors/google_calendar")["settings"]["sync_enabled"] is True

    # An appointment waiting, then "Synchroniser maintenant": progress, then the result in words.
    created = requests.post(site.api("/api/v1/appointments"), timeout=10,
                            headers={"Authorization": f"Bearer {site.token('alice', 'acme')}"},
                            json={"title": "Bilan", "starts_at": "2031-03-04T09:30:00+01:00",
                                  "ends_at": "2031-03-04T10:00:00+01:00", "timezone": "Europe/Paris"})
    assert created.status_code == 201, created.text
    click(driver, driver.find_element(By.CSS_SELECTOR, '[data-action="sync-now"]'))
    wait(driver).until(lambda d: text_of(d, '[data-role="sync-result"]').startswith("Terminé"))
    assert "Tout est à jour" in text_of(driver, '[data-role="sync-state"]')
    assert "Dernière modification envoyée le" in text_of(driver, '[data-role="sync-state"]')
    assert [e["summary"] for e in fake_google.events("alice@example.com", "work-alice@group.calendar.google.com")] \
        == ["Bilan"]
    screenshot(driver, "settings-google-calendar")

    # Disconnect asks first; keeping it changes nothing, confirming disconnects.
    click(driver, driver.find_element(By.CSS_SELECTOR, '[data-action="disconnect"]'))
    wait(driver).until(lambda d: d.find_element(By.ID, "confirm-dialog").is_displayed())
    driver.find_element(By.ID, "confirm-cancel").click()
    assert api_get(site, "/api/v1/connectors/google_calendar")["connected"] is True
    click(driver, driver.find_element(By.CSS_SELECTOR, '[data-action="disconnect"]'))
    confirm_dialog(driver)
    wait(driver).until(lambda d: page_status(d) == "inactive")
    wait(driver).until(lambda d: "Google Calendar déconnecté." in text_of(d, "#toasts"))
    assert api_get(site, "/api/v1/connectors/google_calendar")["connected"] is False


def test_the_callback_page_does_not_believe_the_query_string(driver, site):
    sign_in(driver, site.url)
    driver.get(site.url + "/connectors/callback/google_calendar?status=success")
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#callback[data-status="error"]'))
    assert text_of(driver, "#callback-title") == "Google Calendar n’a pas été connecté"
    assert accessibility_problems(driver) == []
    assert driver.current_url.endswith("status=success")  # it stays: nothing to go back to


def test_a_connector_the_operator_has_not_set_up_says_so_in_words(driver, site):
    sign_in(driver, site.url)
    slack = driver.find_element(By.CSS_SELECTOR, '#grid [data-key="slack"]')
    assert "SLACK_CLIENT_ID" not in slack.text
    open_settings(driver, site, "/settings/integrations/slack")
    assert page_status(driver) == "not_configured"
    text = driver.find_element(By.ID, "connector-page").text
    assert "demandez à votre administrateur" in text
    assert "SLACK_CLIENT_ID" not in text and "opérateur" not in text
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-action="connect"]')
    assert accessibility_problems(driver) == []


def test_config_errors_are_shown_on_the_field_they_concern(driver, site):
    sign_in(driver, site.url)
    open_settings(driver, site, "/settings/integrations/smtp")
    values = {"host": "127.0.0.1", "port": "2525", "username": "alice", "password": "secret",
              "from_address": "pas-une-adresse"}
    for name, value in values.items():
        field = driver.find_element(By.ID, f"cfg-smtp-{name}")
        field.clear()
        field.send_keys(value)
    click(driver, driver.find_element(By.CSS_SELECTOR, '[data-role="config-form"] button[type=submit]'))
    wait(driver).until(lambda d: text_of(d, '[data-role="config-error"]'))
    assert text_of(driver, '[data-role="config-error"]') == "Vérifiez les champs signalés."
    assert text_of(driver, "#cfg-smtp-from_address-error") == "Adresse e-mail non valide."
    field = driver.find_element(By.ID, "cfg-smtp-from_address")
    assert field.get_attribute("aria-invalid") == "true"
    assert driver.switch_to.active_element == field
    assert accessibility_problems(driver) == []
    assert page_status(driver) == "inactive"


def test_unknown_connector_page_is_a_404_and_pages_can_be_framed_by_the_front_end(start_platform, fake_google, tmp_path):
    from tests.conftest import platform_env

    site = start_platform(platform_env(f"sqlite:///{tmp_path}/p.db", fake_google))
    missing = requests.get(site.url + "/settings/integrations/nope", timeout=10)
    assert missing.status_code == 404 and '<html lang="fr">' in missing.text
    page = requests.get(site.url + GCAL, timeout=10, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Google Calendar" in page.text
    assert "Sign in to manage your connections." in page.text
    assert f"frame-ancestors 'self' {site.config.frontend_url}" in page.headers["Content-Security-Policy"]
