"""``connectors new-plugin NAME --kind oauth2|config``: a connector package whose test passes as generated.

The package is ``connector-<name>/``: a ``pyproject.toml`` registering the plugin under the entry
point group ``connectors.plugins``, the plugin module (the spec, one action, ``register_connectors``)
and a test written with the authors' kit (``core.testing``). docs/plugins.md walks through it.
"""
from __future__ import annotations

from pathlib import Path

from core.spec import KEY_RE

KINDS = ("oauth2", "config")

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "{title} connector for the connector platform"
requires-python = ">=3.11"
dependencies = ["connector-platform"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points."connectors.plugins"]
{key} = "{module}"

[tool.setuptools]
packages = ["{module}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

README = '''\
# {title} connector

A {kind} connector for the connector platform: `pip install -e '.[test]'` beside the platform,
then `connectors plugins` lists `{key}` and `pytest` runs its tests with the platform's kit
(fixtures `platform`, `client`, `connect`, `run_action`, `oauth_provider`).
{setup}'''

OAUTH_SETUP = '''
The operator sets `{prefix}_CLIENT_ID` and `{prefix}_CLIENT_SECRET` (and, for tests or a proxy,
`{prefix}_AUTH_URI`, `_TOKEN_URI`, `_REVOKE_URI`, `_API_ROOT`). Replace the example endpoints
and scopes in `{module}/__init__.py` with your provider's.
'''

OAUTH_MODULE = '''\
"""{title} connector: OAuth 2.0 sign-in and one action, for the connector platform."""
from core import Action, ConnectorSpec, OAuthSpec, call_with_token, hookimpl, request_json


def fetch_account(token, api_root):
    """The connected account's label, read with the fresh token (``api_root`` ends with a slash)."""
    return request_json("GET", f"{{api_root}}userinfo", token["access_token"], provider="{title}")["email"]


def whoami(ctx):
    """Who the connection acts as (the token is refreshed once if the provider rejects it)."""
    info = call_with_token(ctx, lambda token: request_json("GET", f"{{ctx.api_root}}userinfo", token,
                                                           provider="{title}"))
    return {{"account": info["email"]}}


CONNECTOR = ConnectorSpec(
    key="{key}",
    name="{title}",
    kind="oauth2",
    provider="{key}",
    description="{title} for your agent.",
    oauth=OAuthSpec(
        env_prefix="{prefix}",
        authorize_url="https://auth.example.com/oauth/authorize",
        token_url="https://auth.example.com/oauth/token",
        revoke_url="https://auth.example.com/oauth/revoke",
        api_root="https://api.example.com/",
        scopes=("profile",),
    ),
    fetch_account=fetch_account,
    actions=(Action("whoami", "Say which {title} account is connected.", whoami),),
)


@hookimpl
def register_connectors():
    """Declare the {key} connector."""
    return [CONNECTOR]
'''

OAUTH_CONFTEST = '''\
"""Point the connector's OAuth server at the kit's loopback one."""
import pytest


@pytest.fixture
def platform_environ(oauth_provider):
    return oauth_provider.environ("{prefix}")
'''

OAUTH_TEST = '''\
"""{title} through the platform, with the kit's fixtures."""
import pytest

from core.testing import ConnectFailed


def test_connect_and_run(connect, run_action, oauth_provider):
    status = connect("{key}")
    assert status["connected"] is True and status["account"] == oauth_provider.account
    assert run_action("{key}", "whoami") == {{"account": oauth_provider.account}}
    oauth_provider.expire_tokens()  # a rejected token is refreshed once
    assert run_action("{key}", "whoami") == {{"account": oauth_provider.account}}


def test_denied_consent(connect, oauth_provider):
    oauth_provider.deny_next()
    with pytest.raises(ConnectFailed) as denied:
        connect("{key}")
    assert denied.value.error == "access_denied"
'''

CONFIG_SETUP = '''
Replace the check in `validate` with a real call to your service (`request_json(...)` inside
`trying_credentials(...)`), so a wrong key is refused before anything is stored.
'''

CONFIG_MODULE = '''\
"""{title} connector: an API key and one action, for the connector platform."""
from core import Action, ActionParam, ConfigField, ConnectorSpec, ConnectorValidationError, hookimpl


def validate(values):
    """Try the credentials for real and return the account's label.

    Call your service here, e.g. ``with trying_credentials("{title} refused this key.", field="api_key"):
    request_json("GET", url, auth=(values["api_key"], ""), provider="{title}")``.
    """
    if not values["api_key"].startswith("key-"):
        raise ConnectorValidationError("{title} keys start with 'key-'.", field="api_key")
    return "{key} account"


def echo(ctx, text):
    """Send ``text`` back: replace with a real call using ``ctx.config["api_key"]``."""
    return {{"text": text}}


CONNECTOR = ConnectorSpec(
    key="{key}",
    name="{title}",
    kind="config",
    provider="{key}",
    description="{title} for your agent.",
    fields=(ConfigField("api_key", "API key", secret=True),),
    validate=validate,
    actions=(Action("echo", "Send a text back.", echo, (ActionParam("text", "string", "The text"),)),),
)


@hookimpl
def register_connectors():
    """Declare the {key} connector."""
    return [CONNECTOR]
'''

CONFIG_TEST = '''\
"""{title} through the platform, with the kit's fixtures."""
import pytest

from core.testing import ActionFailed, ConnectFailed


def test_connect_and_run(connect, run_action):
    with pytest.raises(ConnectFailed) as refused:
        connect("{key}", {{"api_key": "wrong"}})
    assert refused.value.error == "invalid_credentials"
    assert connect("{key}", {{"api_key": "key-123"}})["connected"] is True
    assert run_action("{key}", "echo", {{"text": "hello"}}) == {{"text": "hello"}}
    with pytest.raises(ActionFailed) as missing:
        run_action("{key}", "echo")
    assert missing.value.reason == "invalid_input"
'''


def files(key: str, kind: str) -> dict[str, str]:
    """The package's files, by path relative to its directory."""
    if not KEY_RE.match(key):
        raise ValueError(f"{key!r} is not a connector key: lowercase letters, digits and _, starting with a letter")
    if kind not in KINDS:
        raise ValueError(f"--kind must be one of {', '.join(KINDS)}")
    words = {"key": key, "kind": kind, "module": f"connector_{key}", "dist": "connector-" + key.replace("_", "-"),
             "title": key.replace("_", " ").title(), "prefix": key.upper()}
    oauth = kind == "oauth2"
    found = {
        "pyproject.toml": PYPROJECT.format(**words),
        "README.md": README.format(**words, setup=(OAUTH_SETUP if oauth else CONFIG_SETUP).format(**words)),
        f"{words['module']}/__init__.py": (OAUTH_MODULE if oauth else CONFIG_MODULE).format(**words),
        "tests/test_connector.py": (OAUTH_TEST if oauth else CONFIG_TEST).format(**words),
    }
    if oauth:
        found["tests/conftest.py"] = OAUTH_CONFTEST.format(**words)
    return found


def create(directory: Path, key: str, kind: str) -> Path:
    """Write the package ``connector-<key>/`` in ``directory``; refuses to overwrite anything."""
    target = Path(directory) / ("connector-" + key.replace("_", "-"))
    if target.exists():
        raise FileExistsError(f"{target} already exists")
    for relative, text in files(key, kind).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return target
