"""Phase B in the browser (French): a booking into busy time shows the conflict and the next free
slots, a change made in Google waits for the person's choice, calendars that count as busy are
ticked in the settings, and a connection made before busy times were read is upgraded in place.
"""
from __future__ import annotations

import requests
from selenium.webdriver.common.by import By

from plugins.google_calendar.channels import ADDRESS_VARIABLE, PATH
from tests.sync.conftest import wait_until
from tests.sync.test_google_changes import writes
from tests.web.conftest import (accessibility_problems, api_get, click, click_css, connect_google_in_browser,
                                screenshot, sign_in, text_of, wait)
from tests.web.test_dashboard import ITEM, fill_appointment

ALICE = "alice@example.com"
WORK = "work-alice@group.calendar.google.com"
GCAL = "/settings/integrations/google-calendar"


def appointments(site) -> list[dict]:
    answer = api_get(site, "/api/v1/appointments")
    return answer["items"] if isinstance(answer, dict) else answer


def book(site, title: str, start: str, end: str) -> dict:
    """Create an appointment through the API as alice (Paris time)."""
    answer = requests.post(site.api("/api/v1/appointments"), timeout=10, json={
        "title": title, "starts_at": start, "ends_at": end, "timezone": "Europe/Paris"},
        headers={"Authorization": f"Bearer {site.token('alice', 'acme')}"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def row(driver, title: str):
    """The appointment row whose title is ``title``."""
    return next(node for node in driver.find_elements(By.CSS_SELECTOR, ITEM)
                if node.find_element(By.CSS_SELECTOR, ".appointment-title").text == title)


def test_booking_into_busy_time_shows_the_conflict_and_the_next_free_slots(driver, site, fake_google):
    sign_in(driver, site.url)
    connect_google_in_browser(driver, site)
    fake_google.add_event(ALICE, {"summary": "Dentiste", "description": "Couronne", "start": {
        "dateTime": "2031-03-04T14:00:00+01:00"}, "end": {"dateTime": "2031-03-04T15:00:00+01:00"}})
    driver.get(site.url + "/")
    form = wait(driver).until(lambda d: d.find_element(By.ID, "appointment-form"))
    fill_appointment(form, title="Consultation", timezone="Europe/Paris",
                     starts_at="2031-03-04T14:30", ends_at="2031-03-04T15:00")
    click(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))

    # The busy time in words, in the appointment's zone; nothing of the private event.
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-role="slot"]'))
    assert text_of(driver, '[data-role="conflict-text"]') == \
        "Vous êtes occupé à ce moment-là : mar. 4 mars 2031, 14:30 – 15:00 (Europe/Paris)."
    conflict = text_of(driver, "#appointment-conflict")
    assert "Dentiste" not in conflict and "Couronne" not in conflict
    slots = [b.text for b in driver.find_elements(By.CSS_SELECTOR, '[data-role="slot"]')]
    assert slots == ["mar. 4 mars 2031, 15:00 – 15:30 (Europe/Paris)", "mar. 4 mars 2031, 15:30 – 16:00 (Europe/Paris)",
                     "mar. 4 mars 2031, 16:00 – 16:30 (Europe/Paris)"]
    assert text_of(driver, '[data-action="book-anyway"]') == "Réserver quand même"
    assert accessibility_problems(driver) == []
    screenshot(driver, "conflict")
    assert appointments(site) == []

    # A proposed slot fills the form; saving books it there.
    click_css(driver, '[data-role="slot"]')
    assert form.find_element(By.NAME, "starts_at").get_attribute("value") == "2031-03-04T15:00"
    assert form.find_element(By.NAME, "ends_at").get_attribute("value") == "2031-03-04T15:30"
    assert "Enregistrez" in text_of(driver, '[data-role="slot-chosen"]')
    click(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ITEM))
    [booked] = appointments(site)
    assert (booked["title"], booked["starts_at"][:19]) == ("Consultation", "2031-03-04T14:00:00")
    assert text_of(driver, "#appointment-conflict") == ""

    # "Book anyway" sends the same appointment again with allow_conflict.
    fill_appointment(form, title="Urgence", starts_at="2031-03-04T14:00", ends_at="2031-03-04T14:30")
    click(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-action="book-anyway"]'))
    click_css(driver, '[data-action="book-anyway"]')
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ITEM)) == 2)
    assert sorted(a["title"] for a in appointments(site)) == ["Consultation", "Urgence"]


def test_moving_into_busy_time_from_the_edit_form_offers_slots(driver, site, fake_google):
    sign_in(driver, site.url)
    connect_google_in_browser(driver, site)
    fake_google.add_event(ALICE, {"summary": "Privé", "start": {"dateTime": "2031-03-05T10:00:00+01:00"},
                                  "end": {"dateTime": "2031-03-05T12:00:00+01:00"}})
    book(site, "Bilan", "2031-03-05T09:00:00+01:00", "2031-03-05T09:30:00+01:00")
    driver.get(site.url + "/")
    click_css(driver, f'{ITEM} [data-action="edit"]')
    edit = driver.find_element(By.CSS_SELECTOR, f"{ITEM} .edit-form")
    fill_appointment(edit, starts_at="2031-03-05T11:00", ends_at="2031-03-05T11:30")
    click(driver, edit.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, f'{ITEM} [data-role="slot"]'))
    assert "11:00 – 11:30" in text_of(driver, f'{ITEM} [data-role="conflict-text"]')
    first = driver.find_element(By.CSS_SELECTOR, f'{ITEM} [data-role="slot"]').text
    assert first == "mer. 5 mars 2031, 12:00 – 12:30 (Europe/Paris)"
    click_css(driver, f'{ITEM} [data-role="slot"]')
    click(driver, edit.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, f"{ITEM} .edit-form"))
    assert appointments(site)[0]["starts_at"][:19] == "2031-03-05T11:00:00"


def test_a_change_made_in_google_waits_for_keep_or_restore(driver, site, fake_google):
    site.config.environ[ADDRESS_VARIABLE] = site.url + PATH  # Google's push notifications reach the site
    sign_in(driver, site.url)
    connect_google_in_browser(driver, site)
    moved = book(site, "Déplacé", "2031-03-06T09:00:00+01:00", "2031-03-06T09:30:00+01:00")
    deleted = book(site, "Supprimé", "2031-03-06T10:00:00+01:00", "2031-03-06T10:30:00+01:00")
    by_id = lambda: {a["id"]: a for a in appointments(site)}  # noqa: E731
    wait_until(lambda: all(a["sync_status"] == "synced" for a in by_id().values()), what="both synced")
    ids = by_id()
    driver.get(site.url + "/")
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ITEM)) == 2)

    fake_google.edit_as_user(ALICE, ids[moved["id"]]["external_event_id"], start={
        "dateTime": "2031-03-06T16:00:00+01:00"}, end={"dateTime": "2031-03-06T16:30:00+01:00"})
    fake_google.delete_as_user(ALICE, ids[deleted["id"]]["external_event_id"])
    wait_until(lambda: all(a["sync_status"] == "changed_in_google" for a in by_id().values()), what="flagged")
    click_css(driver, "#appointments-refresh")
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '[data-role="change"]')) == 2)
    assert text_of(driver, f'{ITEM}[data-id="{moved["id"]}"] [data-role="change-text"]') == \
        "Déplacé dans Google Calendar au jeu. 6 mars 2031, 16:00 – 16:30 (Europe/Paris)."
    assert text_of(driver, f'{ITEM}[data-id="{deleted["id"]}"] [data-role="change-text"]') == \
        "Supprimé dans Google Calendar."
    keep = driver.find_element(By.CSS_SELECTOR, f'{ITEM}[data-id="{moved["id"]}"] [data-action="keep-change"]')
    assert keep.text == "Garder la modification de Google"
    assert text_of(driver, f'{ITEM}[data-id="{moved["id"]}"] [data-action="restore"]') == "Rétablir"
    assert accessibility_problems(driver) == []
    screenshot(driver, "changed-in-google")

    # An edit form open on one row survives the refresh that brings the other's state.
    click_css(driver, f'{ITEM}[data-id="{deleted["id"]}"] [data-action="edit"]')
    title = driver.find_element(By.CSS_SELECTOR, f'{ITEM}[data-id="{deleted["id"]}"] .edit-form [name=title]')
    title.send_keys(" (à revoir)")

    # Keep: the appointment follows Google, and nothing is written back.
    before = writes(fake_google)
    click_css(driver, f'{ITEM}[data-id="{moved["id"]}"] [data-action="keep-change"]')
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, f'{ITEM}[data-id="{moved["id"]}"] [data-role="change"]'))
    assert "16:00" in text_of(driver, f'{ITEM}[data-id="{moved["id"]}"] .appointment-when')
    assert by_id()[moved["id"]]["starts_at"][:19] == "2031-03-06T15:00:00"
    assert writes(fake_google) == before
    assert title.get_attribute("value") == "Supprimé (à revoir)", "the open form kept what was typed"

    # Restore: Google shows the appointment again.
    click_css(driver, f'{ITEM}[data-id="{deleted["id"]}"] [data-action="restore"]')
    wait_until(lambda: by_id()[deleted["id"]]["sync_status"] == "synced", what="restored")
    [event] = [e for e in fake_google.events(ALICE) if e["id"] == ids[deleted["id"]]["external_event_id"]]
    assert event["status"] == "confirmed"
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-role="change"]'))


def test_ticking_a_calendar_that_counts_as_busy(driver, site, fake_google):
    sign_in(driver, site.url)
    connect_google_in_browser(driver, site)
    group = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "fieldset#set-google_calendar-busy_calendar_ids"))
    assert group.find_element(By.TAG_NAME, "legend").text == "Compter aussi comme occupé"
    boxes = {label.text: label for label in group.find_elements(By.CSS_SELECTOR, "label.check")}
    assert set(boxes) == {"alice@example.com (agenda principal)", "Work"}
    assert accessibility_problems(driver) == []
    click(driver, boxes["Work"].find_element(By.TAG_NAME, "input"))
    wait(driver).until(lambda d: text_of(d, '[data-role="settings-note"]').startswith("Enregistré"))
    assert api_get(site, "/api/v1/connectors/google_calendar")["settings"]["busy_calendar_ids"] == [WORK]

    # Its events now make alice busy when booking.
    fake_google.add_event(ALICE, {"summary": "Réunion", "start": {"dateTime": "2031-03-04T10:00:00+01:00"},
                                  "end": {"dateTime": "2031-03-04T11:00:00+01:00"}}, WORK)
    busy = api_get(site, "/api/v1/availability?from=2031-03-04T00:00:00Z&to=2031-03-05T00:00:00Z")["busy"]
    assert [(b["start"][11:16], b["end"][11:16]) for b in busy] == [("09:00", "10:00")]

    # Unticking is saved too, and the page shows it after a reload.
    driver.refresh()
    box = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, f'fieldset#set-google_calendar-busy_calendar_ids input[value="{WORK}"]'))
    assert box.is_selected()
    click(driver, box)
    wait(driver).until(lambda d: text_of(d, '[data-role="settings-note"]').startswith("Enregistré"))
    assert api_get(site, "/api/v1/connectors/google_calendar")["settings"]["busy_calendar_ids"] == []


def test_a_connection_without_busy_times_is_upgraded_in_place(driver, site, fake_google):
    from plugins.google_calendar import SCOPES
    from plugins.google_calendar.busy import FREEBUSY_SCOPE

    sign_in(driver, site.url)
    fake_google.grant_scopes_next([s for s in SCOPES if s != FREEBUSY_SCOPE])  # as connections made before
    connect_google_in_browser(driver, site)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-role="upgrade-text"]'))
    assert text_of(driver, '[data-role="upgrade-text"]') == "Reconnectez Google Agenda pour activer les disponibilités."
    assert text_of(driver, '[data-action="upgrade"]') == "Autoriser dans Google"
    assert accessibility_problems(driver) == []
    click_css(driver, '[data-action="upgrade"]')
    wait(driver).until(lambda d: d.current_url == site.url + GCAL)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#connector-page[data-status="active"]'))
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-role="upgrade"]')
    asked = fake_google.authorize_params[-1]
    assert asked["scope"] == FREEBUSY_SCOPE and asked["include_granted_scopes"] == "true"
    status = api_get(site, "/api/v1/connectors/google_calendar")
    assert status["availability"] == "enabled" and sorted(status["granted_scopes"]) == sorted(SCOPES)
