"""French first, English too: the catalogs, the locale of a request, and translated API errors."""
from __future__ import annotations

import io
import json
import re

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from core.i18n import LOCALES, TRANSLATIONS, normalize, script_catalog
from tests.conftest import platform_env

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _catalog(locale):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogs_match_their_po_files(locale):
    """The committed ``.mo`` is what ``make messages`` compiles from the ``.po`` (a fresh clone works)."""
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(locale))
    mo = (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert mo == compiled.getvalue(), "run `make messages` and commit the .mo files"


def test_every_message_has_a_french_translation_with_the_same_placeholders():
    catalog = _catalog("fr")
    untranslated, mismatched = [], []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if message.pluralizable else (message.id,)
        strings = message.string if message.pluralizable else (message.string,)
        if not all(strings) or message.fuzzy:
            untranslated.append(ids[0])
        elif {p for s in strings for p in PLACEHOLDER.findall(s)} - {p for i in ids for p in PLACEHOLDER.findall(i)}:
            mismatched.append(ids[0])
    assert untranslated == [] and mismatched == []


def test_the_pages_scripts_get_their_share_of_the_catalog():
    french = script_catalog("fr")
    assert french["The server answered %(status)s."] == "Le serveur a répondu %(status)s."
    assert "Sign in to continue." not in french  # a server-only message stays on the server
    assert script_catalog("en") == {}  # English is the source language: msgids are shown as they are


@pytest.mark.parametrize("value, expected", [
    ("fr", "fr"), ("fr-FR", "fr"), ("fr_CA", "fr"), ("EN-gb", "en"), ("de", None), ("", None), (None, None),
])
def test_normalize(value, expected):
    assert normalize(value) == expected


@pytest.fixture
def site(start_platform, tmp_path):
    return start_platform(platform_env(f"sqlite:///{tmp_path}/i18n.db"))


def test_api_errors_speak_french_first_then_the_browsers_language(site):
    user = site.browser("alice", "acme")
    french = user.get(site.api("/api/v1/connectors/nope"))
    assert french.status_code == 404
    assert french.json()["message"] == "Aucun connecteur « nope » n’est installé."
    english = user.get(site.api("/api/v1/connectors/nope"), headers={"Accept-Language": "en-US,en;q=0.9"})
    assert english.json()["message"] == "No connector “nope” is installed."
    assert english.json()["code"] == french.json()["code"] == 404

    # Validation: the message and each field's words translated; the field names stay.
    bad = user.post(site.api("/api/v1/appointments"), json={"starts_at": "2031-01-01T10:00:00+00:00",
                                                            "ends_at": "2031-01-01T09:00:00+00:00", "title": "x"},
                    headers={"Accept-Language": "fr-FR"})
    assert bad.status_code == 422
    assert bad.json()["errors"]["json"] == {"ends_at": ["La fin doit être après le début."]}
    missing = user.post(site.api("/api/v1/appointments"), json={}, headers={"Accept-Language": "fr"}).json()
    assert missing["message"] == "Certains champs ne sont pas valides."
    assert missing["errors"]["json"]["title"] == ["Ce champ est obligatoire."]

    # A stable reason with words in the user's language (a tool of a connector not connected).
    refused = site.browser().get(site.api("/api/v1/connectors"))
    assert refused.status_code == 401 and refused.json()["message"] == "Connectez-vous pour continuer."


def test_the_saved_choice_wins_over_the_browser(site):
    user = site.browser("bob", "acme")
    assert user.get(site.api("/api/v1/me")).json() == {"user": "bob", "org": "acme", "locale": "fr",
                                                       "saved_locale": None}
    saved = user.patch(site.api("/api/v1/me"), json={"locale": "en"}, headers={"Accept-Language": "fr"})
    assert saved.status_code == 200 and saved.json()["locale"] == "en" and saved.json()["saved_locale"] == "en"
    answer = user.get(site.api("/api/v1/connectors/nope"), headers={"Accept-Language": "fr-FR"})
    assert answer.json()["message"] == "No connector “nope” is installed."
    assert user.get(site.api("/api/v1/tools"), headers={"Accept-Language": "fr"}).json()["locale"] == "en"
    refused = user.patch(site.api("/api/v1/me"), json={"locale": "de"})
    assert refused.status_code == 422 and refused.json()["errors"]["json"]["locale"]
    other = site.browser("carol", "acme").get(site.api("/api/v1/connectors/nope"))  # one user's choice only
    assert other.json()["message"].startswith("Aucun connecteur")
    assert user.patch(site.api("/api/v1/me"), json={"locale": None}).json()["locale"] == "fr"


def test_pages_are_in_the_users_language(site):
    browser = site.browser()
    page = browser.get(site.url + "/")
    assert '<html lang="fr">' in page.text and "Se connecter" in page.text
    catalog = json.loads(re.search(r'id="i18n-catalog">(.*?)</script>', page.text).group(1))
    assert catalog["locale"] == "fr" and catalog["messages"]["Confirm"] == "Confirmer"
    english = browser.get(site.url + "/", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in english.text and ">Sign in<" in english.text

    signed = browser.post(site.url + "/dev/session", json={"user": "dora", "org": "acme"})
    assert signed.status_code == 200
    browser.headers["Authorization"] = f"Bearer {site.token('dora', 'acme')}"
    browser.patch(site.api("/api/v1/me"), json={"locale": "en"})
    del browser.headers["Authorization"]
    assert '<html lang="en">' in browser.get(site.url + "/", headers={"Accept-Language": "fr"}).text


def test_errors_of_guards_bounds_and_availability_speak_the_asked_language(site):
    user = site.browser("erin", "acme")
    form = {"data": "title=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
    zone = {"from": "2031-01-01T09:00:00+00:00", "to": "2031-01-01T18:00:00+00:00", "timezone": "Mars/Olympus"}
    far = {"from": "0001-01-01T00:00:00+14:00", "to": "0001-01-02T00:00:00+14:00"}
    asked = {
        "fr": (("Envoyez le corps en JSON avec « Content-Type: application/json ».",
                "« Mars/Olympus » n’est pas un nom de fuseau horaire IANA (par exemple Europe/Paris).",
                "Indiquez une date et une heure entre les années 1900 et 2999.",
                "« page » doit valoir au plus 100000.", "Aucun utilisateur « nobody » dans votre organisation.")),
        "en": (("Send the body as JSON with “Content-Type: application/json”.",
                "“Mars/Olympus” is not an IANA time zone name (e.g. Europe/Paris).",
                "Give a date-time in the years 1900 to 2999.",
                "“page” must be at most 100000.", "No user “nobody” in your organization.")),
    }
    for language, (body, timezone, year, page, nobody) in asked.items():
        headers = {"Accept-Language": language}
        posted = user.post(site.api("/api/v1/appointments"), data=form["data"], headers={**headers, **form["headers"]})
        assert posted.status_code == 415 and posted.json()["message"] == body
        answer = user.get(site.api("/api/v1/availability"), params=zone, headers=headers)
        assert answer.status_code == 422 and answer.json()["errors"]["query"]["timezone"] == [timezone]
        answer = user.get(site.api("/api/v1/availability"), params=far, headers=headers)
        assert answer.status_code == 422 and answer.json()["errors"]["query"]["from"] == [year]
        answer = user.get(site.api("/api/v1/appointments"), params={"page": 100001}, headers=headers)
        assert answer.status_code == 422 and answer.json()["message"] == page
        answer = user.get(site.api("/api/v1/availability"), params={**zone, "timezone": "UTC", "user": "nobody"},
                          headers=headers)
        assert answer.status_code == 404 and answer.json()["message"] == nobody
        assert answer.json()["code"] == 404 and answer.json()["errors"] == {"query": {"user": ["nobody"]}}


def test_a_booking_conflict_and_an_action_error_speak_the_asked_language(site):
    user = site.browser("fred", "acme")
    slot = {"title": "Checkup", "starts_at": "2031-02-03T10:00:00+00:00", "ends_at": "2031-02-03T11:00:00+00:00"}
    assert user.post(site.api("/api/v1/appointments"), json=slot).status_code == 201
    french = user.post(site.api("/api/v1/appointments"), json=slot)
    assert french.status_code == 409 and french.json()["errors"]["reason"] == "conflict"
    assert french.json()["message"].startswith("Le titulaire est occupé à ce moment-là")
    english = user.post(site.api("/api/v1/appointments"), json=slot, headers={"Accept-Language": "en"})
    assert english.json()["message"].startswith("The owner is busy at that time")

    unknown = {"key": "nope", "extra": 1}
    french = user.post(site.api("/api/v1/tools/activate_connector/invoke"), json=unknown)
    english = user.post(site.api("/api/v1/tools/activate_connector/invoke"), json=unknown,
                        headers={"Accept-Language": "en"})
    assert french.json()["error"] == {"code": "invalid_input", "field": "extra",
                                      "message": "Argument inconnu : « extra »."}
    assert english.json()["error"] == {"code": "invalid_input", "field": "extra", "message": "Unknown argument “extra”."}
