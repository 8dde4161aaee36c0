"""The CalDAV settings page in French, against a real Radicale server: a person connects their
calendar with an app password, picks a calendar, and sees an appointment arrive there."""
from __future__ import annotations

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.caldav.conftest import USERS
from tests.caldav.radicale import Radicale
from tests.web.conftest import accessibility_problems, api_get, click, screenshot, sign_in, text_of, wait
from tests.web.test_dashboard import ITEM, fill_appointment

PAGE = "/settings/integrations/caldav"


@pytest.fixture
def radicale(tmp_path):
    """Radicale on loopback with alice's "Cabinet" and "Perso" calendars."""
    directory = tmp_path / "radicale"
    directory.mkdir()
    server = Radicale(directory)
    server.add_user("alice", USERS["alice"])
    server.start()
    server.make_calendar("alice", "Cabinet", "cabinet")
    server.make_calendar("alice", "Perso", "perso")
    yield server
    server.stop()


def page_status(driver) -> str:
    return driver.find_element(By.ID, "connector-page").get_attribute("data-status") or ""


def type_into(driver, field_id: str, value: str) -> None:
    field = driver.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(value)


def test_connect_caldav_with_an_app_password_pick_a_calendar_and_sync(driver, site, radicale):
    sign_in(driver, site.url)
    driver.get(site.url + PAGE)
    wait(driver).until(lambda d: page_status(d) == "inactive")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert "Les rendez-vous apparaissent" in driver.find_element(By.ID, "connector-page").text
    # The connector's own icon, from its package.
    icon = driver.find_element(By.CSS_SELECTOR, "#connector-page img.card-icon").get_attribute("src")
    assert icon == site.url + "/connectors/caldav/icon"
    served = requests.get(icon, timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("image/svg+xml")

    # The form explains app passwords, in French, next to the password field.
    explained = text_of(driver, "#cfg-caldav-password-help")
    assert "mot de passe d’application" in explained and "appleid.apple.com" in explained
    assert "Fastmail" in explained and "Nextcloud" in explained
    assert "https://caldav.icloud.com" in text_of(driver, "#cfg-caldav-url-help")

    # A wrong password: said in French on the password field, not only at the bottom of the form.
    type_into(driver, "cfg-caldav-url", radicale.url)
    type_into(driver, "cfg-caldav-username", "alice")
    type_into(driver, "cfg-caldav-password", "pas-le-bon-mot-de-passe")
    click(driver, driver.find_element(By.CSS_SELECTOR, '[data-role="config-form"] button[type=submit]'))
    wait(driver, 20).until(lambda d: text_of(d, "#cfg-caldav-password-error"))
    assert text_of(driver, "#cfg-caldav-password-error").startswith(
        "Le serveur CalDAV a refusé ce nom d’utilisateur et ce mot de passe.")
    assert text_of(driver, '[data-role="config-error"]') == "Vérifiez les champs signalés."
    password = driver.find_element(By.ID, "cfg-caldav-password")
    assert password.get_attribute("aria-invalid") == "true"
    assert driver.switch_to.active_element == password
    assert not driver.find_element(By.ID, "cfg-caldav-url").get_attribute("aria-invalid")
    assert accessibility_problems(driver) == []
    assert page_status(driver) == "inactive"

    # The right app password: connected.
    type_into(driver, "cfg-caldav-password", USERS["alice"])
    click(driver, driver.find_element(By.CSS_SELECTOR, '[data-role="config-form"] button[type=submit]'))
    wait(driver, 20).until(lambda d: page_status(d) == "active")
    assert text_of(driver, "#connector-status") == "Connecté"
    assert text_of(driver, '[data-role="account"]') == "alice @ 127.0.0.1"
    assert USERS["alice"] not in driver.page_source

    # The calendar picker lists Radicale's calendars; choosing one is saved.
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#set-caldav-calendar_id option")) == 3)
    picker = Select(driver.find_element(By.ID, "set-caldav-calendar_id"))
    assert [o.text for o in picker.options] == ["(non choisi)", "Cabinet", "Perso"]
    assert "le premier agenda du compte" in text_of(driver, "#set-caldav-calendar_id-help")
    picker.select_by_visible_text("Perso")
    wait(driver).until(lambda d: text_of(d, '[data-role="settings-note"]').startswith("Enregistré"))
    assert api_get(site, "/api/v1/connectors/caldav")["settings"]["calendar_id"] == "/alice/perso/"

    # Sync: switched off, then on again.
    toggle = driver.find_element(By.ID, "set-caldav-sync_enabled")
    assert toggle.is_selected()
    click(driver, toggle)
    wait(driver).until(lambda d: "désactivée" in text_of(d, '[data-role="sync-state"]'))
    assert api_get(site, "/api/v1/connectors/caldav")["settings"]["sync_enabled"] is False
    click(driver, driver.find_element(By.ID, "set-caldav-sync_enabled"))
    wait(driver).until(lambda d: api_get(site, "/api/v1/connectors/caldav")["settings"]["sync_enabled"] is True)
    wait(driver).until(lambda d: "désactivée" not in text_of(d, '[data-role="sync-state"]'))
    assert accessibility_problems(driver) == []
    screenshot(driver, "caldav-settings")

    # An appointment made on the dashboard arrives in the chosen Radicale calendar.
    driver.get(site.url + "/")
    form = wait(driver).until(lambda d: d.find_element(By.ID, "appointment-form"))
    fill_appointment(form, title="Consultation M. Leroy", timezone="Europe/Paris",
                     starts_at="2031-03-04T10:00", ends_at="2031-03-04T10:45")
    click(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait(driver, 20).until(lambda d: text_of(d, f'{ITEM} [data-role="sync-status"]') == "Dans l’agenda")
    [stored] = radicale.events("alice", "perso")  # read back with a separate CalDAV client
    event = next(iter(stored.walk("VEVENT")))
    assert str(event["SUMMARY"]) == "Consultation M. Leroy"
    assert event["DTSTART"].dt.isoformat() == "2031-03-04T09:00:00+00:00"
    assert radicale.events("alice", "cabinet") == []
    assert accessibility_problems(driver) == []
