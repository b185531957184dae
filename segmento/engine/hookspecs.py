"""Hook specifications of segmento's plugin interface.

A plugin is a module or object with functions marked ``@hookimpl`` and named like the
specifications below. Installed packages announce plugins in the ``segmento``
entry-point group::

    [options.entry_points]
    segmento =
        loyalty = segmento_loyalty.plugin

Every hook is called once, when the registry is built (``segmento.engine.registry``),
except ``segmento_operator_implementations`` and ``segmento_condition_implementations``,
which are called once per target the first time that target is used. Every plugin's result is collected; no hook stops at the
first result. Two plugins that claim the same name (a type, an operator, a field, an
event kind, a condition kind or its JSON key, a target, or an implementation for one
target) make the registry
raise ``PluginError`` naming both. The built-in vocabulary, the in-memory evaluator and
the SQL compiler are registered through these same hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from segmento.engine.catalog import EventSpec, FieldSpec
    from segmento.engine.condition_kinds import ConditionKind
    from segmento.engine.operators import OperatorSpec
    from segmento.engine.targets import TargetSpec
    from segmento.engine.types import FieldType

PROJECT_NAME = "segmento"
ENTRY_POINT_GROUP = "segmento"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- vocabulary: the names rules may use ---------------------------------------------------


@hookspec
def segmento_field_types() -> Sequence[FieldType]:
    """Return the field types this plugin adds.

    Called once while the registry is built. A type lists the operators it allows;
    those operators must be registered too, by this plugin or another.
    """


@hookspec
def segmento_operators() -> Sequence[OperatorSpec]:
    """Return the operators this plugin adds.

    An operator with ``negates`` set needs no implementation of its own: every target
    compiles it as the complement of the operator it names.
    """


@hookspec
def segmento_fields() -> Sequence[FieldSpec]:
    """Return the profile fields this plugin adds to the catalog.

    A segment type plugin (shopping habits, interests, status, ...) is mostly this list.
    """


@hookspec
def segmento_events() -> Sequence[EventSpec]:
    """Return the event kinds that behavioural conditions may count."""


@hookspec
def segmento_condition_kinds() -> Sequence[ConditionKind]:
    """Return the kinds of leaf condition this plugin adds, such as ``sequence``.

    Called once while the registry is built. Each kind is claimed by its name and by
    its JSON key; the registry adds its schema to the rule schema, so JSON documents
    and DSL ``use <name> {...}`` conditions of that kind load, validate and format.
    Targets compile it through ``segmento_condition_implementations``.
    """


# --- targets: how rules run -----------------------------------------------------------


@hookspec
def segmento_operator_implementations(target: str) -> Mapping[str, Callable[..., Any]] | None:
    """Return implementations of positive operators for ``target``, keyed by operator name.

    Called the first time a rule is compiled for ``target`` (``memory``, ``sql``, or
    another target that a ``segmento_compilers`` result names). Import the target's library
    inside the function, not at module level. Return ``None`` for a target the plugin
    does not support; rules that use its operators then fail to compile for that
    target with an ``UnsupportedError`` naming the operator.

    The signature of an implementation depends on the target:

    - ``memory``: ``(value_in_profile, rule_value, options) -> bool``; it is not called
      when the profile has no value, because a positive test on a missing value is false.
    - ``sql``: ``(column, rule_value, options, context) -> ColumnElement[bool]``, where
      ``column`` is the SQLAlchemy column and ``context`` the ``SqlContext`` with the dialect.
    """


@hookspec
def segmento_condition_implementations(target: str) -> Mapping[str, Callable[..., Any]] | None:
    """Return implementations of condition kinds for ``target``, keyed by kind name.

    Called the first time a rule is compiled for ``target``, like
    ``segmento_operator_implementations``; import the target's library inside the
    function. Return ``None`` for a target the plugin does not support; a rule that uses
    the kind then fails to compile for that target with an ``UnsupportedError`` naming
    the location, the kind and the target.

    An implementation is ``(compiler, node) -> result``: for ``memory`` the result is a
    predicate of a profile, for ``sql`` a SQLAlchemy ``ColumnElement[bool]`` built on
    ``compiler.model`` and ``compiler.clock``. It must be two-valued (never NULL), so
    that the base's negation is the exact complement.
    """


@hookspec
def segmento_compilers() -> Sequence[TargetSpec]:
    """Return the targets this plugin adds, each a ``TargetSpec`` naming its compiler class.

    Called once while the registry is built, with no arguments. The spec names the class
    by import path (``"segmento.plugins.sql.compiler:SqlCompiler"``), so returning it
    imports nothing: ``Registry.compiler(target)`` imports the class when the target is
    first used, and raises ``PluginError`` naming the plugin when that import fails.
    The class derives from ``segmento.engine.compiler.Compiler`` and its ``target``
    attribute equals the spec's name. A compiler turns a validated ``Segment`` into a
    query for its target, or a predicate for the in-memory target, and does no I/O.
    A target that a second plugin also returns makes the registry raise ``PluginError``
    naming both plugins.
    """
