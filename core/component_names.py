"""The names a connector's request bodies take in the OpenAPI document, each taken once.

``core.api.openapi`` adds, per connector, the components ``<Key>Config`` (a config connector's
fields), ``<Key>Settings`` and ``<Key><Action>Args``. Keys and action names are snake_case, so
two of them can spell one name: connectors ``foo_1`` and ``foo1`` both make ``Foo1Config``,
connector ``foo_bar``'s action ``x`` and connector ``foo``'s action ``bar_x`` both make
``FooBarXArgs``, and connector ``client``'s action ``secret`` would make ``ClientSecretArgs``,
the name of one of core's own schemas. The plugin registry refuses a plugin whose connector
would take a name already taken (:meth:`core.plugins.PluginRegistry.add`), the connectors
shipped with the platform loading first: the document never renames nor overwrites a component.
"""
from __future__ import annotations

#: The endings of every connector component's name.
SUFFIXES = ("Config", "Settings", "Args")

#: Core's own schemas whose names end like a connector component's; the test of the OpenAPI
#: document (tests/test_openapi_connectors.py) checks that this list is exactly theirs.
CORE_NAMES = frozenset({"ClientSecretArgs"})


def pascal(*names: str) -> str:
    """``("acme_tasks", "list_open")`` → ``AcmeTasksListOpen``."""
    return "".join(word.capitalize() for name in names for word in name.split("_"))


def config_name(key: str) -> str:
    """The component of what ``POST /connectors/<key>/config`` accepts: ``<Key>Config``."""
    return pascal(key, "config")


def settings_name(key: str) -> str:
    """The component of what ``PATCH /connectors/<key>/settings`` accepts: ``<Key>Settings``."""
    return pascal(key, "settings")


def action_name(key: str, action: str) -> str:
    """The component of action ``action``'s arguments: ``<Key><Action>Args``."""
    return pascal(key, action, "args")


def component_names(spec) -> list[tuple[str, str]]:
    """Every component name connector ``spec`` takes, with what it describes (for messages)."""
    names = []
    if spec.kind == "config" and spec.fields:
        names.append((config_name(spec.key), "config fields"))
    if spec.settings:
        names.append((settings_name(spec.key), "settings"))
    names.extend((action_name(spec.key, action.name), f"action {action.name!r}") for action in spec.actions)
    return names
