"""A plugin shipped as its own package extends segmento without editing it.

``tests/fixtures/example_plugin`` is installed for real with this environment's pip
into a temporary directory, and the ``segmento`` script runs with that directory on
``PYTHONPATH``, so the plugin is found through its ``segmento`` entry point.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from segmento.engine.errors import PluginError
from segmento.engine.hookspecs import hookimpl
from segmento.engine.operators import OperatorSpec
from segmento.engine.registry import build_registry, make_plugin_manager

FIXTURE = Path(__file__).parent / "fixtures" / "example_plugin"
PYTHON = Path(sys.executable)
SEGMENTO = PYTHON.with_name("segmento")

EMAIL_RULES = """\
segment gmail_users "Gmail users"
email @domain_is "Gmail.com"

segment not_gmail "Not on Gmail"
email @domain_is_not "gmail.com"
"""

EMAIL_RULE_JSON = """\
{"id": "yahoo_users", "name": "Yahoo users",
 "condition": {"all": [
   {"field": "email", "operator": "domain_is", "type": "string", "value": "yahoo.com"},
   {"field": "email", "operator": "ne", "type": "string", "value": "spam@yahoo.com"}]}}
"""

PROFILES = """\
{"id": "an", "email": "an@gmail.com"}
{"id": "binh", "email": "Binh.Tran@GMAIL.COM"}
{"id": "chi", "email": "chi@yahoo.com"}
{"id": "dung"}
{"id": "giang", "email": "no-at-sign"}
{"id": "hoa", "email": "hoa@gmail.com@example.org"}
{"id": "khoa", "email": "gmail.com"}
{"id": "spam", "email": "spam@yahoo.com"}
"""


def pip_install(source: Path, target: Path) -> None:
    """Install the package at ``source`` into ``target`` with this environment's pip, offline."""
    build = target.parent / f"build-{source.name}"
    # pip builds in the source tree, so build from a copy to keep the fixture clean.
    shutil.copytree(source, build)
    subprocess.run(
        [
            str(PYTHON),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(build),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the installed example plugin."""
    target = tmp_path_factory.mktemp("plugin") / "site"
    pip_install(FIXTURE, target)
    return target


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("rules")
    (directory / "email.seg").write_text(EMAIL_RULES, encoding="utf-8")
    (directory / "yahoo.json").write_text(EMAIL_RULE_JSON, encoding="utf-8")
    (directory / "profiles.jsonl").write_text(PROFILES, encoding="utf-8")
    return directory


def segmento(args: Sequence[str], cwd: Path, python_path: Path | None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if python_path is not None:
        environment["PYTHONPATH"] = str(python_path)
    return subprocess.run(
        [str(SEGMENTO), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def test_install_puts_entry_point(plugin_path: Path) -> None:
    [dist_info] = plugin_path.glob("segmento_example_plugin-*.dist-info")
    entry_points = (dist_info / "entry_points.txt").read_text(encoding="utf-8")
    assert "[segmento]" in entry_points
    assert "example_email = segmento_example_plugin.plugin" in entry_points


def test_validate_with_plugin(plugin_path: Path, rules_dir: Path) -> None:
    process = segmento(["validate", "email.seg", "yahoo.json"], rules_dir, plugin_path)
    assert process.returncode == 0, process.stderr
    assert process.stdout.splitlines() == ["ok email.seg (2 segments)", "ok yahoo.json (1 segment)"]


def test_validate_without_plugin(rules_dir: Path) -> None:
    process = segmento(["validate", "email.seg"], rules_dir, None)
    assert process.returncode == 1
    assert 'email.seg:2:1: error: unknown field "email"' in process.stderr


def test_plugin_operator_checks_value_type(plugin_path: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.seg").write_text('segment bad "Bad"\nemail @domain_is 42\n', encoding="utf-8")
    process = segmento(["validate", "bad.seg"], tmp_path, plugin_path)
    assert process.returncode == 1
    assert 'bad.seg:2:18: error: 42 does not fit field "email" of type email_address' in process.stderr


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize(
    ("rule", "segment", "expected"),
    [
        ("email.seg", "gmail_users", ["an", "binh"]),
        # The complement: no address, no @, or another domain after the last @.
        ("email.seg", "not_gmail", ["chi", "dung", "giang", "hoa", "khoa", "spam"]),
        ("yahoo.json", "yahoo_users", ["chi"]),
    ],
)
def test_match_with_plugin(
    plugin_path: Path, rules_dir: Path, backend: str, rule: str, segment: str, expected: list[str]
) -> None:
    args = ["match", rule, "--segment", segment, "--profiles", "profiles.jsonl", "--backend", backend]
    process = segmento(args, rules_dir, plugin_path)
    assert process.returncode == 0, process.stderr
    assert process.stdout.splitlines() == expected


def test_compile_plugin_operator(plugin_path: Path, rules_dir: Path) -> None:
    args = ["compile", "email.seg", "--segment", "gmail_users", "--dialect", "postgresql"]
    process = segmento(args, rules_dir, plugin_path)
    assert process.returncode == 0, process.stderr
    assert "substr(profiles.email_ci," in process.stdout
    assert '"@gmail.com"' in process.stdout


def test_fmt_keeps_plugin_operator(plugin_path: Path, tmp_path: Path) -> None:
    rule = tmp_path / "email.seg"
    rule.write_text('segment gmail_users "Gmail users"\nemail   @domain_is   "gmail.com"\n', encoding="utf-8")
    process = segmento(["fmt", "email.seg"], tmp_path, plugin_path)
    assert process.returncode == 0, process.stderr
    assert rule.read_text(encoding="utf-8") == 'segment gmail_users "Gmail users"\nemail @domain_is "gmail.com"\n'


RIVAL_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "segmento-rival-plugin"
version = "0.1.0"

[project.entry-points.segmento]
rival_email = "segmento_rival_plugin"
"""

RIVAL_MODULE = """\
from segmento.engine.hookspecs import hookimpl
from segmento.engine.operators import OperatorSpec


@hookimpl
def segmento_operators():
    return (OperatorSpec("domain_is", "scalar"),)
"""


def test_installed_plugins_claim_same_operator(tmp_path: Path) -> None:
    rival = tmp_path / "rival"
    (rival / "segmento_rival_plugin").mkdir(parents=True)
    (rival / "pyproject.toml").write_text(RIVAL_PYPROJECT, encoding="utf-8")
    (rival / "segmento_rival_plugin" / "__init__.py").write_text(RIVAL_MODULE, encoding="utf-8")
    target = tmp_path / "site"
    pip_install(FIXTURE, target)
    pip_install(rival, target)
    (tmp_path / "email.seg").write_text(EMAIL_RULES, encoding="utf-8")

    process = segmento(["validate", "email.seg"], tmp_path, target)
    assert process.returncode == 1
    assert "error: operator 'domain_is' is registered by both plugin" in process.stderr
    assert "'example_email'" in process.stderr
    assert "'rival_email'" in process.stderr


def plugin_module(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    """Return a module named ``name`` whose attributes are the given hook implementations."""
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


def test_same_operator_error_names_both() -> None:
    def first_operators() -> Sequence[OperatorSpec]:
        return (OperatorSpec("divisible_by", "scalar"),)

    def second_operators() -> Sequence[OperatorSpec]:
        return (OperatorSpec("divisible_by", "scalar"),)

    first = plugin_module("loyalty_plugin", segmento_operators=first_operators)
    second = plugin_module("numbers_plugin", segmento_operators=second_operators)
    manager = make_plugin_manager([first, second], load_entry_points=False)
    with pytest.raises(PluginError) as caught:
        build_registry(manager)
    assert "operator 'divisible_by' is registered by both plugin 'loyalty_plugin' and plugin 'numbers_plugin'" in str(
        caught.value
    )
    assert caught.value.params == {
        "kind": "operator",
        "name": "divisible_by",
        "first": "loyalty_plugin",
        "second": "numbers_plugin",
    }


def test_plugin_claiming_builtin_operator() -> None:
    def operators() -> Sequence[OperatorSpec]:
        return (OperatorSpec("contains", "scalar"),)

    manager = make_plugin_manager([plugin_module("text_plugin", segmento_operators=operators)], load_entry_points=False)
    with pytest.raises(PluginError) as caught:
        build_registry(manager)
    assert caught.value.params["first"] == "builtin"
    assert caught.value.params["second"] == "text_plugin"


def test_unknown_hook_rejected() -> None:
    def segmento_field_typez() -> Sequence[Any]:
        return ()

    misspelled = plugin_module("misspelled_plugin", segmento_field_typez=segmento_field_typez)
    with pytest.raises(PluginError) as caught:
        make_plugin_manager([misspelled], load_entry_points=False)
    message = str(caught.value)
    assert "implements a hook segmento does not define" in message
    assert "segmento_field_typez" in message
    assert "misspelled_plugin" in message
