"""Core knows no provider: no shipped connector's key or provider appears in core's code.

Code is the Python, the templates, the dashboard's own JavaScript and CSS (third-party bundles in
``core/static/vendor/`` are not ours). The plugin loader names none either; docs are not code. The SSRF guard's cloud metadata host
names (``metadata.google.internal``…) are addresses it refuses, not a provider it serves.
"""
import re
from pathlib import Path

from core.plugins import PluginRegistry

CORE = Path(__file__).resolve().parent.parent / "core"
CODE = (".py", ".html", ".js", ".css")
ALLOWED = re.compile(r"metadata\.google\.internal|metadata\.goog\b")


def provider_names() -> set[str]:
    registry = PluginRegistry()
    registry.load_entry_points()
    names = {spec.key for spec in registry.connectors.values()} | {s.provider for s in registry.connectors.values()}
    assert {"google", "google_calendar", "slack"} <= names
    return names


def mentions(text: str, names: set[str]) -> list[str]:
    pattern = re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, sorted(names))) + r")(?![a-z0-9])", re.I)
    return [m.group(0) for line in text.splitlines() for m in pattern.finditer(ALLOWED.sub("", line))]


def core_code() -> list[Path]:
    return [p for p in CORE.rglob("*") if p.suffix in CODE and p.is_file()
            and not p.is_relative_to(CORE / "static" / "vendor")]


def test_the_scan_covers_templates_and_front_end():
    scanned = {str(p.relative_to(CORE)) for p in core_code()}
    assert {"templates/settings.html", "static/js/appointments.js", "static/js/connector.js",
            "static/dashboard.js", "static/dashboard.css", "app.py"} <= scanned
    assert not any(path.startswith("static/vendor/") for path in scanned)


def test_core_code_names_no_provider():
    names = provider_names()
    files = core_code()
    found = {str(p.relative_to(CORE)): mentions(p.read_text(), names) for p in files}
    assert {path: words for path, words in found.items() if words} == {}


def test_the_check_sees_a_provider_in_any_spelling():
    assert mentions("GOOGLE_CLIENT_ID and Slack's answer, not googleapis", {"google", "slack"}) == ["GOOGLE", "Slack"]
    assert mentions('HOSTS = {"metadata.google.internal"}', {"google"}) == []
