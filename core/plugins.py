"""The plugin manager: load connector plugins one by one, validate them, keep the healthy ones."""
from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import pluggy

from core import ENTRY_POINT_GROUP, PROJECT_NAME, hookspecs
from core.component_names import CORE_NAMES, component_names
from core.spec import ConnectorSpec

log = logging.getLogger(__name__)


def _own_distributions() -> set[str]:
    """The distribution(s) of the platform itself: those whose ``connectors`` command runs ``core.cli``.

    (``importlib.metadata.packages_distributions()`` says the same but reads the file list of
    every installed distribution: over a second of every process start.)"""
    return {ep.dist.metadata["Name"] for ep in entry_points(group="console_scripts", name="connectors")
            if ep.dist is not None and ep.module == "core.cli"}


@dataclass
class PluginInfo:
    """What ``connectors plugins`` reports about one plugin."""

    name: str
    version: str
    status: str = "ok"
    error: str | None = None
    connectors: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    #: The distribution that installed the plugin (None when registered in code).
    package: str | None = None
    #: Shipped with the platform itself: it wins a connector key over any third-party plugin.
    builtin: bool = False

    def as_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "package": self.package, "builtin": self.builtin,
                "status": self.status, "error": self.error, "connectors": self.connectors, "hooks": self.hooks}

    def label(self) -> str:
        """The plugin's name and package, as error messages name it."""
        return f"{self.name!r} (package {self.package!r})" if self.package else repr(self.name)


def _is_hookimpl(value) -> bool:
    """Whether ``value`` is a function marked with ``@hookimpl`` (not any object answering every
    attribute, such as SQLAlchemy's ``func``)."""
    return inspect.isroutine(value) and getattr(value, f"{PROJECT_NAME}_impl", None) is not None


class PluginError(Exception):
    """A plugin cannot be used; the message names the plugin and the problem."""


class PluginRegistry:
    """Owns one pluggy manager and the connectors declared by the plugins it loaded."""

    def __init__(self, disabled: frozenset[str] = frozenset()):
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.disabled = disabled
        self.plugins: dict[str, PluginInfo] = {}
        self.connectors: dict[str, ConnectorSpec] = {}
        self.connector_plugin: dict[str, str] = {}
        #: The OpenAPI component names taken by the installed connectors, each with its connector key.
        self.components: dict[str, str] = {}
        self.routes: dict[str, list] = {}
        #: Directories of Alembic revisions contributed by plugins (``register_migrations``).
        self.migrations: list[Path] = []
        #: The :class:`core.Platform` handed to hooks (set by the app factory).
        self.platform = None

    def add_default(self, module, name: str) -> None:
        """Register one of core's own default plugins (not listed by ``connectors plugins``)."""
        self.pm.register(module, name=name)

    @property
    def hook(self):
        return self.pm.hook

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Load every plugin of ``group``, the platform's own first, so that a built-in connector
        always keeps its key; a broken plugin is recorded and skipped."""
        own = _own_distributions()
        found = [(ep, ep.dist.metadata["Name"] if ep.dist else None) for ep in entry_points(group=group)]
        for ep, package in sorted(found, key=lambda pair: (pair[1] not in own, pair[0].name)):
            version = ep.dist.version if ep.dist else "unknown"
            try:
                module = ep.load()
            except Exception as exc:  # a plugin's import error must not stop the platform
                self._broken(PluginInfo(ep.name, version, package=package, builtin=package in own),
                             f"import failed: {type(exc).__name__}: {exc}")
                continue
            self.add(module, name=ep.name, version=version, package=package, builtin=package in own)

    def add(self, plugin, name: str, version: str = "unknown", *, package: str | None = None,
            builtin: bool = False) -> PluginInfo:
        """Register one plugin object, validate what it declares, and keep it only if healthy."""
        info = PluginInfo(name, version, package=package, builtin=builtin)
        if name in self.plugins:
            return self._broken(info, f"a plugin named {name!r} is already loaded")
        try:
            self.pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            return self._broken(info, str(exc))
        try:
            self._check_hooks(plugin, name)
            specs = self._collect(plugin, "register_connectors", name)
            routes = self._collect(plugin, "register_routes", name)
            migrations = self._migrations(plugin, name)
            self._validate(info, specs, routes)
        except PluginError as exc:
            self.pm.unregister(plugin)
            return self._broken(info, str(exc))
        info.hooks = sorted(impl.name for impl in self.pm.get_hookcallers(plugin) or [])
        for spec in specs:
            if spec.key in self.disabled:
                continue
            self.connectors[spec.key] = spec
            self.connector_plugin[spec.key] = name
            self.components.update((component, spec.key) for component, _ in component_names(spec))
            info.connectors.append(spec.key)
        for key, blueprint in routes:
            if key not in self.disabled:
                self.routes.setdefault(key, []).append(blueprint)
        self.migrations.extend(migrations)
        self.plugins[name] = info
        return info

    def _check_hooks(self, plugin, name):
        known = {n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), f"{PROJECT_NAME}_spec")}
        for attr in dir(plugin):
            impl = getattr(plugin, attr, None)
            if _is_hookimpl(impl) and attr not in known:
                raise PluginError(f"plugin {name!r}: unknown hook {attr!r} (known hooks: "
                                  f"{', '.join(sorted(known))})")

    def _collect(self, plugin, hook_name, name):
        impl = getattr(plugin, hook_name, None)
        if not _is_hookimpl(impl):
            return []
        try:
            result = impl()
        except Exception as exc:
            raise PluginError(f"plugin {name!r}: {hook_name}() raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(result, (list, tuple)):
            raise PluginError(f"plugin {name!r}: {hook_name}() must return a list, got {type(result).__name__}")
        return list(result)

    def _migrations(self, plugin, name) -> list[Path]:
        found = []
        for entry in self._collect(plugin, "register_migrations", name):
            path = Path(entry) if isinstance(entry, (str, Path)) else None
            if path is None or not path.is_dir():
                raise PluginError(f"plugin {name!r}: register_migrations() returned {entry!r}, "
                                  "not a directory of Alembic revisions")
            found.append(path.resolve())
        return found

    def _validate(self, info, specs, routes):
        name, keys = info.name, set()
        for spec in specs:
            if not isinstance(spec, ConnectorSpec):
                raise PluginError(f"plugin {name!r}: register_connectors() returned {spec!r}, not a ConnectorSpec")
            problems = spec.problems()
            if problems:
                raise PluginError(f"plugin {name!r}, connector {spec.key!r}: {'; '.join(problems)}")
            if spec.key in self.connectors or spec.key in keys:
                owner = self.plugins[self.connector_plugin[spec.key]] if spec.key in self.connectors else info
                kind = "built-in plugin" if owner.builtin else "plugin"
                raise PluginError(f"plugin {info.label()}: connector key {spec.key!r} is already declared by "
                                  f"{kind} {owner.label()}")
            keys.add(spec.key)
        self._check_component_names(info, specs)
        for entry in routes:
            if not (isinstance(entry, tuple) and len(entry) == 2 and hasattr(entry[1], "register")):
                raise PluginError(f"plugin {name!r}: register_routes() must return (connector_key, Blueprint) pairs")
            if entry[0] not in keys:
                raise PluginError(f"plugin {name!r}: routes for {entry[0]!r}, a connector it does not declare")
            prefix = getattr(entry[1], "url_prefix", None)
            if prefix and (not prefix.startswith("/") or prefix.startswith(("/api/v1", "/static"))):
                raise PluginError(f"plugin {name!r}: a blueprint's own url_prefix {prefix!r} must be an absolute "
                                  "path outside /api/v1 and /static")

    def _check_component_names(self, info, specs):
        """Refuse a connector whose OpenAPI component name (see :mod:`core.component_names`) is one of
        core's own, or already taken by an installed connector or by another declaration of the plugin."""
        own: dict[str, str] = {}
        for spec in specs:
            if spec.key in self.disabled:
                continue
            for name, what in component_names(spec):
                if name in CORE_NAMES:
                    owner = "one of core's own schemas"
                elif name in self.components:
                    key = self.components[name]
                    plugin = self.plugins[self.connector_plugin[key]]
                    owner = f"connector {key!r} of {'built-in plugin' if plugin.builtin else 'plugin'} {plugin.label()}"
                elif name in own:
                    owner = own[name]
                else:
                    own[name] = f"connector {spec.key!r}'s {what}"
                    continue
                raise PluginError(f"plugin {info.label()}: connector {spec.key!r}'s {what} would be the OpenAPI "
                                  f"component {name!r}, already taken by {owner}")

    def _broken(self, info: PluginInfo, error: str) -> PluginInfo:
        info.status, info.error = "broken", error
        self.plugins[info.name] = info
        log.error("Plugin %s is disabled: %s", info.name, error)
        return info

    def connector(self, key: str) -> ConnectorSpec | None:
        """The declaration of connector ``key``, or None when no healthy plugin declares it."""
        return self.connectors.get(key)
