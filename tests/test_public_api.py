"""The public plugin API: every name ``core`` exports is importable and documented in docs/plugins.md."""
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
