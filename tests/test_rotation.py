"""`connectors keys rotate`: every secret re-encrypted under the newest key, readable with it alone."""
import json

from click.testing import CliRunner

from core.cli import main
from core.crypto import generate_key
from tests.conftest import connect_google, platform_env


def test_rotate_then_decrypt_with_only_the_new_key(start_platform, database_url, fake_google, tmp_path, monkeypatch):
    old = generate_key()
    env = platform_env(database_url, fake_google, CONNECTORS_ENCRYPTION_KEYS=old)
    first = start_platform(env)
    alice = first.browser("alice", "org-a")
    connect_google(first, alice, fake_google, "alice@example.com")
    alice.get(first.api("/api/v1/connectors/google_calendar/redirect"), allow_redirects=False)  # a pending state

    new = generate_key()
    for name, value in {**env, "CONNECTORS_ENCRYPTION_KEYS": f"{new},{old}",
                        "CONNECTORS_INSTANCE_PATH": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["keys", "rotate", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["rotated"] >= 4 and counts["failed"] == 0   # access, refresh, two verifiers

    again = CliRunner().invoke(main, ["keys", "rotate"])
    assert json.loads(again.stdout.strip().splitlines()[-1])["rotated"] == 0

    only_new = start_platform(platform_env(database_url, fake_google, CONNECTORS_ENCRYPTION_KEYS=new))
    calendars = only_new.browser("alice", "org-a").get(only_new.api("/api/v1/connectors/google_calendar/calendars"))
    assert calendars.status_code == 200 and len(calendars.json()) == 2


def test_keys_generate_prints_a_usable_key():
    from core.crypto import parse_keys

    result = CliRunner().invoke(main, ["keys", "generate"])
    assert parse_keys(result.output.strip())
