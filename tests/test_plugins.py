"""Plugin loading: entry points one by one, validation, broken plugins isolated, hooks documented."""
import inspect
import json
import re
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from core import ConnectorSpec, hookimpl, hookspecs
from core.plugins import PluginRegistry
from tests.sample_plugins import weather


def _module(name, **hooks):
    module = types.ModuleType(name)
    for hook_name, func in hooks.items():
        setattr(module, hook_name, hookimpl(func))
    return module


def test_shipped_plugins_load_through_entry_points():
    registry = PluginRegistry()
    registry.load_entry_points()
    assert {"google_calendar", "smtp"} <= set(registry.connectors)
    assert all(info.status == "ok" for info in registry.plugins.values())


def test_third_party_plugin_from_an_installed_distribution(tmp_path, monkeypatch):
    dist = tmp_path / "weather_connector-1.2.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: weather-connector\nVersion: 1.2.0\n")
    (dist / "entry_points.txt").write_text("[connectors.plugins]\nweather = tests.sample_plugins.weather\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = PluginRegistry()
    registry.load_entry_points()
    assert registry.plugins["weather"].version == "1.2.0"
    assert registry.connector("weather").name == "Weather"
    assert ("weather" in registry.routes)


@pytest.mark.parametrize("hooks, message", [
    ({"register_connectors": lambda: "nope"}, "must return a list"),
    ({"register_connectors": lambda: [object()]}, "not a ConnectorSpec"),
    ({"register_connectors": lambda: [ConnectorSpec(key="Bad Key", name="x", kind="config", provider="x")]},
     "key 'Bad Key'"),
    ({"register_connectors": lambda: [ConnectorSpec(key="x1", name="x", kind="oauth2", provider="x")]},
     "needs an OAuthSpec"),
    ({"register_connectors": lambda: 1 / 0}, "ZeroDivisionError"),
    ({"register_conectors": lambda: []}, "unknown hook 'register_conectors'"),
    ({"register_routes": lambda: [("ghost", object())]}, "register_routes"),
])
def test_broken_plugin_recorded_and_skipped(hooks, message):
    registry = PluginRegistry()
    info = registry.add(_module("bad", **hooks), name="bad")
    assert info.status == "broken" and message in info.error and "'bad'" in info.error
    registry.add(weather, name="weather")
    assert registry.plugins["weather"].status == "ok"


def test_duplicate_connector_key_refused():
    registry = PluginRegistry()
    registry.add(weather, name="weather")
    info = registry.add(_module("copy", register_connectors=lambda: [weather.CONNECTOR]), name="copy")
    assert info.status == "broken" and "already declared by 'weather'" in info.error


def test_broken_plugin_does_not_stop_the_app(start_platform, tmp_path):
    from tests.conftest import platform_env

    broken = _module("broken", register_connectors=lambda: 1 / 0)
    platform = start_platform(platform_env(f"sqlite:///{tmp_path}/p.db"), plugins=[("broken", broken),
                                                                                    ("weather", weather)])
    grid = platform.browser("u", "o").get(platform.api("/api/v1/connectors")).json()
    assert "weather" in {c["key"] for c in grid}
    assert platform.ext("registry").plugins["broken"].status == "broken"


def test_plugins_command_lists_status(tmp_path, monkeypatch):
    from core.cli import main

    monkeypatch.setenv("CONNECTORS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/c.db")
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["google_calendar"]["kinds"] == ["oauth2"] and rows["smtp"]["kinds"] == ["config"]
    assert rows["smtp"]["status"] == "ok"


def test_every_hook_documented():
    """Each hook in core/hookspecs.py has a docstring and a section in docs/plugins.md with its signature."""
    docs = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text()
    hooks = [n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "connectors_spec")]
    assert hooks
    for name in hooks:
        func = getattr(hookspecs, name)
        assert func.__doc__, name
        signature = f"{name}{inspect.signature(func)}"
        assert re.search(rf"^#+ `{re.escape(signature)}`", docs, re.M), f"docs/plugins.md lacks `{signature}`"


def _recorder():
    seen, module = [], types.ModuleType("recorder")

    def handle_event(event, session):
        seen.append((event.name, event.data.get("connector"), session.is_active))

    def reconcile(session):
        return {"recorded": len(seen)}

    module.handle_event = hookimpl(handle_event)
    module.reconcile = hookimpl(reconcile)
    return module, seen


def test_handle_event_sees_connect_settings_and_revoke(start_platform, tmp_path):
    from tests.conftest import platform_env

    recorder, seen = _recorder()
    platform = start_platform(platform_env(f"sqlite:///{tmp_path}/e.db"),
                              plugins=[("weather", weather), ("recorder", recorder)])
    user = platform.browser("u", "o")
    user.post(platform.api("/api/v1/connectors/weather/config"), json={"api_key": "k"})
    user.post(platform.api("/api/v1/connectors/weather/revoke"))
    assert seen == [("connector.connected", "weather", True), ("connector.revoked", "weather", True)]


def test_reconcile_hook_counts_summed_by_cli(tmp_path, monkeypatch):
    from core.cli import main

    monkeypatch.setenv("CONNECTORS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/c.db")
    dist = tmp_path / "recorder_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: recorder-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[connectors.plugins]\nrecorder = tests.sample_plugins.counter\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    CliRunner().invoke(main, ["db", "upgrade"])
    result = CliRunner().invoke(main, ["sync", "reconcile"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["counted"] == 2


def test_plugin_routes_are_mounted_and_need_a_session(start_platform, tmp_path):
    from tests.conftest import platform_env

    platform = start_platform(platform_env(f"sqlite:///{tmp_path}/r.db"), plugins=[("weather", weather)])
    assert platform.browser().get(platform.api("/api/v1/connectors/weather/ping")).status_code == 401
    assert platform.browser("u", "o").get(platform.api("/api/v1/connectors/weather/ping")).json() == {"pong": True}


def test_before_disconnect_runs_while_the_credentials_are_still_there(start_platform, tmp_path):
    from core.models import UserConnectorCredential
    from tests.conftest import platform_env

    seen, module = [], types.ModuleType("stopper")

    def before_disconnect(connector, user_id, session):
        seen.append((connector, session.query(UserConnectorCredential).filter_by(user_id=user_id).count()))

    module.before_disconnect = hookimpl(before_disconnect)
    platform = start_platform(platform_env(f"sqlite:///{tmp_path}/d.db"),
                              plugins=[("weather", weather), ("stopper", module)])
    user = platform.browser("u", "o")
    user.post(platform.api("/api/v1/connectors/weather/config"), json={"api_key": "k"})
    assert user.post(platform.api("/api/v1/connectors/weather/revoke")).status_code == 200
    assert seen == [("weather", 1)]
