"""Targets registered through ``segmento_compilers``: listed at once, compiler classes imported on first use."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Sequence
from typing import Any

import pytest

from segmento.cli.compile_targets import compile_for_target, compile_targets
from segmento.engine.ast import Comparison, Group, Segment, SegmentRef, leaf_count
from segmento.engine.compiler import Compiler
from segmento.engine.errors import PluginError, UnsupportedError
from segmento.engine.evaluator import MemoryCompiler
from segmento.engine.hookspecs import hookimpl
from segmento.engine.registry import Registry, build_registry, get_registry, make_plugin_manager
from segmento.engine.targets import TargetSpec
from segmento.plugins.sql.dialects import DIALECT_NAMES


class LeafCountCompiler(Compiler[dict[str, int]]):
    """A target for tests: a rule compiles to the number of its leaf conditions."""

    target = "leaf_count"

    def compile(self, node: Any) -> dict[str, int]:
        return {"leaves": leaf_count(node)}


def target_plugin(name: str, *targets: object) -> types.ModuleType:
    """Return a plugin module named ``name`` whose ``segmento_compilers`` returns ``targets``."""
    module = types.ModuleType(name)

    def segmento_compilers() -> Sequence[object]:
        return targets

    module.segmento_compilers = hookimpl(segmento_compilers)  # type: ignore[attr-defined]
    return module


def registry_with(*plugins: types.ModuleType) -> Registry:
    return build_registry(make_plugin_manager(plugins, load_entry_points=False))


def test_builtin_targets_listed() -> None:
    targets = get_registry().targets

    assert sorted(targets) == ["memory", "sql"]
    assert targets["memory"].plugin == "builtin"
    assert targets["memory"].output == "predicate"
    assert targets["sql"].plugin == "sql"
    assert targets["sql"].output == "query"
    assert targets["sql"].dialects == DIALECT_NAMES


def test_builtin_compilers_import() -> None:
    registry = get_registry()

    assert registry.compiler("memory") is MemoryCompiler
    sql_compiler = registry.compiler("sql")
    assert sql_compiler.__name__ == "SqlCompiler"
    assert sql_compiler.target == "sql"
    assert registry.compiler("sql") is sql_compiler


def test_registry_imports_no_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "from segmento.engine.registry import get_registry\n"
        "registry = get_registry()\n"
        "print(sorted(registry.targets))\n"
        "registry.compiler('memory')\n"
        "print('sqlalchemy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.splitlines() == ["['memory', 'sql']", "False"]


def test_duplicate_target_names_both_plugins() -> None:
    rival = target_plugin("rival_sql", TargetSpec("sql", "rival_sql.compiler:RivalCompiler"))

    with pytest.raises(PluginError) as raised:
        registry_with(rival)

    assert "target 'sql' is registered by both plugin 'sql' and plugin 'rival_sql'" in str(raised.value)
    assert raised.value.params == {"kind": "target", "name": "sql", "first": "sql", "second": "rival_sql"}


def test_broken_import_path_names_plugin() -> None:
    spark = target_plugin("spark_plugin", TargetSpec("spark", "segmento_spark_missing.compiler:SparkCompiler"))
    registry = registry_with(spark)

    assert "spark" in registry.targets
    with pytest.raises(PluginError) as raised:
        registry.compiler("spark")

    message = str(raised.value)
    assert "'segmento_spark_missing.compiler:SparkCompiler'" in message
    assert "target 'spark'" in message
    assert "plugin 'spark_plugin'" in message
    assert "No module named 'segmento_spark_missing'" in message
    assert raised.value.params == {
        "plugin": "spark_plugin",
        "target": "spark",
        "compiler": "segmento_spark_missing.compiler:SparkCompiler",
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            TargetSpec("spark", "segmento.engine.evaluator:SparkCompiler"),
            "cannot be imported: module 'segmento.engine.evaluator' has no attribute 'SparkCompiler'",
            id="missing class",
        ),
        pytest.param(
            TargetSpec("spark", "segmento.engine.ast:Segment"),
            "is not a subclass of segmento.engine.compiler.Compiler",
            id="not a compiler",
        ),
        pytest.param(
            TargetSpec("fast_memory", "segmento.engine.evaluator:MemoryCompiler"),
            "compiles for target 'memory'",
            id="other target",
        ),
    ],
)
def test_wrong_compiler_class_rejected(spec: TargetSpec, expected: str) -> None:
    registry = registry_with(target_plugin("broken_plugin", spec))

    with pytest.raises(PluginError) as raised:
        registry.compiler(spec.name)

    assert expected in str(raised.value)
    assert "plugin 'broken_plugin'" in str(raised.value)


def test_compiler_path_without_colon_rejected() -> None:
    plugin = target_plugin("dotted_plugin", TargetSpec("spark", "segmento_spark.compiler.SparkCompiler"))

    with pytest.raises(PluginError) as raised:
        registry_with(plugin)

    assert "plugin 'dotted_plugin'" in str(raised.value)
    assert "'package.module:ClassName'" in str(raised.value)


def test_compiler_class_instead_of_spec_rejected() -> None:
    plugin = target_plugin("old_style_plugin", MemoryCompiler)

    with pytest.raises(PluginError) as raised:
        registry_with(plugin)

    assert "plugin 'old_style_plugin' returned" in str(raised.value)
    assert "not a TargetSpec" in str(raised.value)


def test_unknown_target_lists_registered() -> None:
    with pytest.raises(PluginError) as raised:
        get_registry().compiler("spark")

    assert "no plugin registers target 'spark'" in str(raised.value)
    assert raised.value.hint == "Install the plugin that provides it, or use one of: memory, sql"


def test_plugin_target_compiles_from_registry() -> None:
    plugin = target_plugin("leaf_count_plugin", TargetSpec("leaf_count", f"{__name__}:LeafCountCompiler"))
    registry = registry_with(plugin)
    segment = Segment("two", "Two", Group("all", (Comparison("city", "is_set"), SegmentRef("vip"))))

    assert compile_targets(registry) == ["leaf_count", "sql"]
    result = compile_for_target("leaf_count", segment, registry, "sqlite", None, "UTC")
    assert result.document == {"query": {"leaves": 2}}


def test_memory_target_has_no_query_to_print() -> None:
    segment = Segment("one", "One", SegmentRef("vip"))

    with pytest.raises(UnsupportedError) as raised:
        compile_for_target("memory", segment, get_registry(), "sqlite", None, "UTC")

    assert "target 'memory' evaluates rules in this process and has no query to print" in str(raised.value)
    assert "compile for one of: sql" in str(raised.value)


def test_sql_package_exports_match_lazy_table() -> None:
    import segmento.plugins.sql as package

    assert sorted(package.__all__) == sorted(package._EXPORTS)
    for name in package.__all__:
        assert getattr(package, name) is not None
