"""The public plugin API: every name ``core`` exports is importable and documented in docs/plugins.md."""
import functools
import inspect
import re
from pathlib import Path

import core

DOCS = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text()


def test_every_public_name_is_documented():
    documented = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)", DOCS))
    missing = [name for name in core.__all__ if name not in documented]
    assert missing == [], f"docs/plugins.md does not mention {missing}"


def test_every_public_name_is_exported():
    assert all(getattr(core, name, None) is not None for name in core.__all__)


def test_platform_handle_members_are_documented():
    members = [n for n in vars(core.Platform) if not n.startswith("_")]
    assert members
    for name in members:
        assert re.search(rf"`platform\.{name}\b", DOCS), f"docs/plugins.md does not describe Platform.{name}"


def signature_of(name: str, function) -> str:
    """``name(a, b=None, *, c="x", **d)`` as docs/plugins.md writes it."""
    parts, starred = [], False
    for p in inspect.signature(function).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            parts.append("*" + p.name)
            starred = True
            continue
        if p.kind is p.VAR_KEYWORD:
            parts.append("**" + p.name)
            continue
        if p.kind is p.KEYWORD_ONLY and not starred:
            parts.append("*")
            starred = True
        default = "" if p.default is p.empty else "=" + (f'"{p.default}"' if isinstance(p.default, str) else repr(p.default))
        parts.append(p.name + default)
    return f"{name}({', '.join(parts)})"


#: Flask-Babel's own functions, re-exported: documented by Flask-Babel.
FLASK_BABEL = {"gettext", "lazy_gettext", "ngettext"}


def test_every_public_function_is_documented_with_its_signature():
    functions = {name: getattr(core, name) for name in core.__all__
                 if inspect.isfunction(getattr(core, name)) and name not in FLASK_BABEL}
    assert {"call_with_token", "request_json", "resolve_public", "guarded_session"} <= set(functions)
    missing = [signature_of(name, f) for name, f in functions.items() if signature_of(name, f) not in DOCS]
    assert missing == [], f"docs/plugins.md does not give these signatures: {missing}"


def test_event_link_members_are_documented_with_their_signatures():
    """``core.EventLink``'s queries (``EventLink.name(...)``) and record steps (``link.name(...)``)."""
    members = {name: value for name, value in vars(core.EventLink).items()
               if not name.startswith("_") and (isinstance(value, classmethod) or inspect.isfunction(value))}
    assert {"stale", "mark_changed", "record_problem"} <= set(members)
    expected = [signature_of(("EventLink." if isinstance(value, classmethod) else "link.") + name,
                             functools.partial(getattr(value, "__func__", value), None))
                for name, value in members.items()]
    missing = [signature for signature in expected if f"`{signature}`" not in DOCS]
    assert missing == [], f"docs/plugins.md does not give these signatures: {missing}"


def test_no_plugin_looks_services_up_in_app_extensions():
    """Plugins reach the platform through ``core.current_platform()`` / the ``platform`` argument,
    and keep their own app-wide objects with ``platform.shared``, never by string in ``app.extensions``."""
    root = Path(__file__).parent.parent / "plugins"
    found = [f"{path.relative_to(root.parent)}:{number}: {line.strip()}"
             for path in sorted(root.rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if "extensions[" in line or "extensions.get(" in line]
    assert found == [], "\n".join(found)


def test_shared_objects_are_made_once_per_app(tmp_path):
    from core.app import create_app
    from tests.conftest import platform_env

    apps = [create_app(platform_env(f"sqlite:///{tmp_path}/{n}.db"), instance_path=str(tmp_path / str(n)))
            for n in (1, 2)]
    made = []
    with apps[0].app_context():
        first = core.current_platform().shared("demo.cache", lambda: made.append(1) or object())
        assert core.current_platform().shared("demo.cache", object) is first
    with apps[1].app_context():
        assert core.current_platform().shared("demo.cache", object) is not first
    assert made == [1]
