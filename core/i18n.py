"""Languages: French first, English too.

Messages are marked in Python with :func:`gettext` (``_``) or :func:`lazy_gettext` (``_l``) for
module-level text, in templates with ``{{ _("…") }}``, and in the dashboard's scripts with
``t("…")`` / ``tn("…", "…", n)`` (``core/static/js/i18n.js``). ``make messages`` extracts them all
into one catalog per language (``core/translations/<lang>/LC_MESSAGES/messages.po``) and compiles
the ``.mo`` files the app reads; the scripts' share of the same catalog is sent with each page.

The locale of a request is the user's saved choice (``users.locale``), else the browser's
``Accept-Language``, else French. It is looked up only when something is translated, so an API
answer that says nothing in words costs no query.
"""
from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from flask import current_app, g, has_request_context, request
from flask_babel import Babel, get_locale, gettext, lazy_gettext, ngettext, refresh
from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from core.db import get_db
from core.models import User

#: The languages the platform speaks, the default first.
LOCALES = ("fr", "en")
DEFAULT_LOCALE = LOCALES[0]
TRANSLATIONS = Path(__file__).parent / "translations"
#: Catalog entries whose source sits under this folder are sent to the page's scripts.
SCRIPT_SOURCES = "core/static/"

_ = gettext
_l = lazy_gettext

__all__ = ["LOCALES", "DEFAULT_LOCALE", "N_", "_", "_l", "gettext", "lazy_gettext", "ngettext",
           "connector_words", "current_locale", "extract_declarations", "init_app", "locale_without_database",
           "normalize", "refresh_locale",
           "script_catalog", "translate_tree"]


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (it is translated where shown)."""
    return message


#: marshmallow's own wording of field errors, listed so ``make messages`` extracts it; the API's
#: error handler translates every field error through :func:`translate_tree`.
VALIDATION_MESSAGES = (
    N_("Missing data for required field."), N_("Not a valid email address."), N_("Not a valid string."),
    N_("Not a valid integer."), N_("Not a valid boolean."), N_("Not a valid datetime."), N_("Not a valid URL."),
    N_("Unknown field."), N_("Field may not be null."),
)


def init_app(app) -> Babel:
    """Install Flask-Babel on ``app`` with our catalogs and locale selection."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    return Babel(app, locale_selector=select_locale)


def normalize(value: str | None) -> str | None:
    """``"fr"`` for ``fr``, ``fr-FR`` or ``fr_CA``; ``None`` for a language we do not speak."""
    if not isinstance(value, str):
        return None
    language = value.strip().lower().replace("_", "-").split("-")[0]
    return language if language in LOCALES else None


def select_locale() -> str:
    """The locale of this request: saved choice, else ``Accept-Language``, else French."""
    if not has_request_context():
        return DEFAULT_LOCALE
    return (normalize(None if g.get("locale_without_database") else _saved_locale())
            or request.accept_languages.best_match(LOCALES)
            or DEFAULT_LOCALE)


def locale_without_database() -> None:
    """Choose this request's locale without reading the user's saved choice: the database just
    failed, and asking it again would wait on it (or fail) a second time."""
    g.locale_without_database = True
    refresh()


def current_locale() -> str:
    """The language code (``fr`` or ``en``) this request is answered in."""
    return str(get_locale() or DEFAULT_LOCALE)


def refresh_locale() -> None:
    """Choose the locale again (after the user saved a new one during this request)."""
    refresh()


def _saved_locale() -> str | None:
    """``users.locale`` of the signed-in user (API session, else the page's cookie), if any; None
    when the database cannot say (the browser's language decides then)."""
    from core.auth import AuthError  # core.auth marks its messages with this module's N_

    user = g.get("user")
    if user is not None:
        query, params = _LOCALE_OF_USER, {"user_id": user.id}
    else:
        token = request.cookies.get("session")
        if not token:
            return None
        verifier = current_app.extensions["connectors.verifier"]
        try:
            claims = verifier.verify(token)
        except AuthError:
            return None
        query, params = _LOCALE_OF_SUBJECT, {"org_id": str(claims[verifier.config.jwt_org_claim]),
                                             "sub": claims["sub"]}
    try:  # read on every request: no ORM session (an API request that needs none opens none)
        rows = get_db().rows(query, params)
    except SQLAlchemyError:
        return None
    return rows[0][0] if rows else None


_LOCALE_OF_USER = select(User.locale).where(User.id == bindparam("user_id"))
_LOCALE_OF_SUBJECT = select(User.locale).where(User.org_id == bindparam("org_id"), User.external_id == bindparam("sub"))


def connector_words(text: str | None) -> str | None:
    """A declaration's description, label or help in the request's language (see :func:`extract_declarations`)."""
    return gettext(text) if text else text


def translate_tree(value):
    """``value`` with every string translated when the catalog knows it (nested dicts and lists)."""
    if isinstance(value, str):
        return gettext(value) if value else value
    if isinstance(value, dict):
        return {key: translate_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [translate_tree(item) for item in value]
    return value


@cache
def script_catalog(locale: str) -> dict:
    """The translations the page's scripts use, ``{msgid: msgstr or [singular, plural]}``."""
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return {}
    from babel.messages.pofile import read_po  # first page only: not paid by every process start

    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    out = {}
    for message in catalog:
        if not message.id or not any(where.startswith(SCRIPT_SOURCES) for where, _line in message.locations):
            continue
        if message.pluralizable:
            if all(message.string):
                out[message.id[0]] = list(message.string)
        elif message.string:
            out[message.id] = message.string
    return out


#: Declarations whose words a person reads: ``{call name: (positional index of the label, keywords)}``.
DECLARATION_WORDS = {"ConnectorSpec": (None, ("description",)), "ConfigField": (1, ("label", "help"))}


def extract_declarations(fileobj, keywords, comment_tags, options):
    """Babel extractor for plugin modules: the marked messages, plus the words of the connector
    declarations (``ConnectorSpec`` description, ``ConfigField`` label and help) — a plugin's
    author writes them as plain strings and :func:`connector_words` translates them where shown."""
    import ast

    from babel.messages.extract import extract_python

    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in DECLARATION_WORDS:
            continue
        position, names = DECLARATION_WORDS[name]
        values = [kw.value for kw in node.keywords if kw.arg in names]
        if position is not None and len(node.args) > position:
            values.append(node.args[position])
        for value in values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                yield value.lineno, None, value.value, []
