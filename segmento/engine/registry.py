"""Plugin manager and the registry it builds: types, operators, fields, targets.

``get_registry()`` loads the built-in plugin and every plugin installed under the
``segmento`` entry-point group, calls each hook once, and checks that no two plugins
claim the same name. A target's compiler class and its operator implementations are
loaded on first use, so building the registry imports no target library.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from segmento.engine import hookspecs
from segmento.engine.catalog import Catalog, EventSpec, FieldSpec, load_catalog_file
from segmento.engine.condition_kinds import RESERVED_KEYS, ConditionKind, remember
from segmento.engine.errors import DataError, Location, PluginError
from segmento.engine.operators import OperatorSpec
from segmento.engine.targets import COMPILER_PATH, TargetSpec
from segmento.engine.types import FieldType

if TYPE_CHECKING:
    from segmento.engine.compiler import Compiler

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Implementation:
    """An operator implementation for one target, and the plugin that provides it."""

    function: Callable[..., Any]
    plugin: str


@dataclass
class Registry:
    """Everything the plugins registered, by name."""

    types: dict[str, FieldType] = field(default_factory=dict)
    operators: dict[str, OperatorSpec] = field(default_factory=dict)
    catalog: Catalog = field(default_factory=Catalog)
    targets: dict[str, TargetSpec] = field(default_factory=dict)
    compilers: dict[str, type[Compiler[Any]]] = field(default_factory=dict)
    """Compiler classes by target, filled by ``compiler`` as each target is first used."""
    implementations: dict[str, dict[str, Implementation]] = field(default_factory=dict)
    condition_kinds: dict[str, ConditionKind] = field(default_factory=dict)
    """Condition kinds of plugins by name."""
    kind_implementations: dict[str, dict[str, Implementation]] = field(default_factory=dict)
    """Implementations of condition kinds by target, then kind name, filled on first use."""
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    manager: pluggy.PluginManager | None = field(default=None, repr=False)

    def claim(self, kind: str, name: str, plugin: str) -> None:
        """Record that ``plugin`` provides ``kind`` ``name``; raise if another plugin already does."""
        previous = self.owners.get((kind, name))
        if previous is not None and previous != plugin:
            raise PluginError(
                f"{kind} {name!r} is registered by both plugin {previous!r} and plugin {plugin!r}",
                value=name,
                hint="Uninstall one of the two plugins or rename the " + kind,
                params={"kind": kind, "name": name, "first": previous, "second": plugin},
            )
        self.owners[(kind, name)] = plugin

    def compiler(self, target: str) -> type[Compiler[Any]]:
        """Return the compiler class of ``target``, importing it on first use.

        Raises ``PluginError`` when no plugin registers ``target``. When the registered
        class cannot be imported or is not a ``Compiler`` subclass for ``target``, the
        ``PluginError`` names the plugin and the import path.
        """
        loaded = self.compilers.get(target)
        if loaded is not None:
            return loaded
        spec = self.targets.get(target)
        if spec is None:
            raise PluginError(
                f"no plugin registers target {target!r}",
                value=target,
                hint="Install the plugin that provides it, or use one of: " + ", ".join(sorted(self.targets)),
                params={"target": target, "targets": sorted(self.targets)},
            )
        compiler_class = _import_compiler(spec)
        self.compilers[target] = compiler_class
        return compiler_class

    def implementation(self, target: str, operator: str) -> Implementation | None:
        """Return the implementation of ``operator`` for ``target``, or ``None`` when no plugin has one."""
        return self.implementations_for(target).get(operator)

    def implementations_for(self, target: str) -> dict[str, Implementation]:
        """Return every operator implementation for ``target``, asking the plugins on first use.

        Targets are loaded lazily so that a process which only validates rules never
        imports a target's library (SQLAlchemy, Spark, ...).
        """
        table = self.implementations.get(target)
        if table is not None:
            return table
        table = {}
        if self.manager is not None:
            hook = self.manager.hook.segmento_operator_implementations
            for plugin, mapping in _results_by_plugin(self.manager, hook, target=target):
                for operator, function in mapping.items():
                    self.claim(f"{target} implementation of operator", operator, plugin)
                    table[operator] = Implementation(function, plugin)
        self.implementations[target] = table
        return table

    def condition_kind_for(self, node: object) -> ConditionKind | None:
        """Return the registered kind whose node class is ``node``'s class, or ``None``."""
        for kind in self.condition_kinds.values():
            if type(node) is kind.node:
                return kind
        return None

    def condition_kind_by_key(self, key: str) -> ConditionKind | None:
        """Return the registered kind whose JSON key is ``key``, or ``None``."""
        for kind in self.condition_kinds.values():
            if kind.key == key:
                return kind
        return None

    def kind_implementation(self, target: str, kind: str) -> Implementation | None:
        """Return the implementation of condition kind ``kind`` for ``target``, asking the plugins on first use."""
        table = self.kind_implementations.get(target)
        if table is None:
            table = {}
            if self.manager is not None:
                hook = self.manager.hook.segmento_condition_implementations
                for plugin, mapping in _results_by_plugin(self.manager, hook, target=target):
                    for name, function in mapping.items():
                        self.claim(f"{target} implementation of condition kind", name, plugin)
                        table[name] = Implementation(function, plugin)
            self.kind_implementations[target] = table
        return table.get(kind)

    def positive_operator(self, name: str) -> OperatorSpec:
        """Return the operator that ``name`` is the complement of, or ``name``'s own spec."""
        spec = self.operators[name]
        return self.operators[spec.negates] if spec.negates else spec

    def with_catalog_file(self, path: str | Path) -> Registry:
        """Return a copy whose catalog also has the fields and events described in ``path``."""
        specs, events = load_catalog_file(path)
        for spec in specs:
            if spec.type not in self.types:
                raise DataError(
                    f"field {spec.name!r} has unknown type {spec.type!r}",
                    location=Location(pointer=f"/fields/{spec.name}", source=str(path)),
                    value=spec.type,
                    hint="Use one of: " + ", ".join(sorted(self.types)),
                )
        copy = Registry(
            types=self.types,
            operators=self.operators,
            catalog=self.catalog.extended(specs, events),
            targets=self.targets,
            compilers=self.compilers,
            implementations=self.implementations,
            condition_kinds=self.condition_kinds,
            kind_implementations=self.kind_implementations,
            owners=self.owners,
            manager=self.manager,
        )
        return copy


def make_plugin_manager(extra_plugins: Iterable[object] = (), load_entry_points: bool = True) -> pluggy.PluginManager:
    """Return a plugin manager with the built-in plugin, installed plugins and ``extra_plugins``."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    from segmento.plugins import builtin
    from segmento.plugins.segment_types import BUILTIN_TARGET_PLUGINS, SEGMENT_TYPE_PLUGINS

    manager.register(builtin, name="builtin")
    for module_name in SEGMENT_TYPE_PLUGINS:
        manager.register(importlib.import_module(module_name), name=module_name.rsplit(".", 1)[-1])
    for plugin_name, module_name in BUILTIN_TARGET_PLUGINS:
        manager.register(importlib.import_module(module_name), name=plugin_name)
    if load_entry_points:
        manager.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
    for plugin in extra_plugins:
        manager.register(plugin)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginError(
            f"plugin {error.plugin!r} implements a hook segmento does not define: {error}",
            hint="Check the hook names against segmento.engine.hookspecs",
        ) from error
    return manager


def build_registry(manager: pluggy.PluginManager) -> Registry:
    """Call every hook once and collect the results into a ``Registry``."""
    registry = Registry(manager=manager)
    hook = manager.hook

    for plugin, types in _results_by_plugin(manager, hook.segmento_field_types):
        for field_type in types:
            registry.claim("field type", field_type.name, plugin)
            registry.types[field_type.name] = field_type
    for plugin, operators in _results_by_plugin(manager, hook.segmento_operators):
        for operator in operators:
            registry.claim("operator", operator.name, plugin)
            registry.operators[operator.name] = operator
    for plugin, specs in _results_by_plugin(manager, hook.segmento_fields):
        for spec in specs:
            registry.claim("field", spec.name, plugin)
            registry.catalog.add_field(_with_plugin(spec, plugin))
    for plugin, events in _results_by_plugin(manager, hook.segmento_events):
        for event in events:
            registry.claim("event kind", event.name, plugin)
            registry.catalog.add_event(EventSpec(event.name, event.description, plugin))
    for plugin, kinds in _results_by_plugin(manager, hook.segmento_condition_kinds):
        for kind in kinds:
            _check_condition_kind(kind, plugin)
            registry.claim("condition kind", kind.name, plugin)
            registry.claim("condition key", kind.key, plugin)
            registry.condition_kinds[kind.name] = replace(kind, plugin=plugin)
            remember(registry.condition_kinds[kind.name])
    for plugin, targets in _results_by_plugin(manager, hook.segmento_compilers):
        for target in targets:
            _check_target(target, plugin)
            registry.claim("target", target.name, plugin)
            registry.targets[target.name] = replace(target, plugin=plugin)

    _check_consistency(registry)
    logger.debug(
        "registry built: %d types, %d operators, %d fields, targets %s",
        len(registry.types),
        len(registry.operators),
        len(registry.catalog.fields),
        sorted(registry.targets),
    )
    return registry


@functools.cache
def get_registry() -> Registry:
    """Return the registry of the built-in and installed plugins, built on first use."""
    return build_registry(make_plugin_manager())


def _results_by_plugin(manager: pluggy.PluginManager, caller: Any, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call each implementation of one hook and pair its result with the plugin name."""
    results = []
    for impl in caller.get_hookimpls():
        name = manager.get_name(impl.plugin) or repr(impl.plugin)
        arguments = {key: value for key, value in kwargs.items() if key in impl.argnames}
        result = impl.function(**arguments)
        if result is not None:
            results.append((name, result))
    return results


def _with_plugin(spec: FieldSpec, plugin: str) -> FieldSpec:
    return FieldSpec(spec.name, spec.type, spec.description, spec.derived_from, spec.allowed_values, plugin)


def _check_consistency(registry: Registry) -> None:
    for field_type in registry.types.values():
        for operator in field_type.operators | field_type.keyed_operators:
            if operator not in registry.operators:
                raise PluginError(
                    f"field type {field_type.name!r} allows operator {operator!r}, which no plugin registers",
                    params={"type": field_type.name, "operator": operator},
                )
    for operator in registry.operators.values():
        if operator.negates and operator.negates not in registry.operators:
            raise PluginError(f"operator {operator.name!r} negates unknown operator {operator.negates!r}")
    for spec in registry.catalog.fields.values():
        if spec.type not in registry.types:
            raise PluginError(
                f"field {spec.name!r} of plugin {spec.plugin!r} has unknown type {spec.type!r}",
                hint="Register the type in segmento_field_types or use one of: " + ", ".join(sorted(registry.types)),
            )


def _check_condition_kind(kind: object, plugin: str) -> None:
    from segmento.engine.ast import Node

    if not isinstance(kind, ConditionKind):
        raise PluginError(
            f"plugin {plugin!r} returned {kind!r} from segmento_condition_kinds, not a ConditionKind",
            value=repr(kind),
            hint="Return segmento.engine.condition_kinds.ConditionKind objects",
            params={"plugin": plugin},
        )
    if kind.key in RESERVED_KEYS:
        raise PluginError(
            f"plugin {plugin!r} gives condition kind {kind.name!r} the key {kind.key!r}, which the rule form uses",
            value=kind.key,
            hint="Pick a key that is not one of: " + ", ".join(sorted(RESERVED_KEYS)),
            params={"plugin": plugin, "kind": kind.name},
        )
    if not (isinstance(kind.node, type) and issubclass(kind.node, Node)):
        raise PluginError(
            f"the node class of condition kind {kind.name!r} of plugin {plugin!r} does not derive from ast.Node",
            value=repr(kind.node),
            hint="Define the node as a frozen dataclass subclassing segmento.engine.ast.Node",
            params={"plugin": plugin, "kind": kind.name},
        )


def _check_target(target: object, plugin: str) -> None:
    if not isinstance(target, TargetSpec):
        raise PluginError(
            f"plugin {plugin!r} returned {target!r} from segmento_compilers, not a TargetSpec",
            value=repr(target),
            hint='Return TargetSpec(name=..., compiler="package.module:ClassName") objects',
            params={"plugin": plugin},
        )
    if not COMPILER_PATH.match(target.compiler):
        raise PluginError(
            f"plugin {plugin!r} gives target {target.name!r} the compiler path {target.compiler!r}, "
            "which is not of the form 'package.module:ClassName'",
            value=target.compiler,
            hint="Name the compiler class as package.module:ClassName",
            params={"plugin": plugin, "target": target.name},
        )


def _import_compiler(spec: TargetSpec) -> type[Compiler[Any]]:
    from segmento.engine.compiler import Compiler

    params = {"plugin": spec.plugin, "target": spec.name, "compiler": spec.compiler}
    try:
        found: Any = importlib.import_module(spec.module)
        for name in spec.class_name.split("."):
            found = getattr(found, name)
    except (ImportError, AttributeError) as error:
        raise PluginError(
            f"the compiler {spec.compiler!r} of target {spec.name!r}, registered by plugin {spec.plugin!r}, "
            f"cannot be imported: {error}",
            value=spec.compiler,
            hint="Install the plugin's dependencies, or fix the compiler path it registers",
            params=params,
        ) from error
    if not (isinstance(found, type) and issubclass(found, Compiler)):
        raise PluginError(
            f"the compiler {spec.compiler!r} of target {spec.name!r}, registered by plugin {spec.plugin!r}, "
            "is not a subclass of segmento.engine.compiler.Compiler",
            value=spec.compiler,
            hint="Point the TargetSpec at the target's Compiler subclass",
            params=params,
        )
    if found.target != spec.name:
        raise PluginError(
            f"the compiler {spec.compiler!r}, registered by plugin {spec.plugin!r} for target {spec.name!r}, "
            f"compiles for target {found.target!r}",
            value=found.target,
            hint="Make the class attribute 'target' equal the TargetSpec's name",
            params=params,
        )
    logger.debug("loaded compiler %s for target %s", spec.compiler, spec.name)
    return found
