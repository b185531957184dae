"""Workspace configuration: where a shop's data, rules and store are, read from YAML.

A config file describes one workspace, or several under ``workspaces``::

    workspaces:
      uk_gift_shop:
        store: sqlite:///var/uk_gift_shop.db
        timezone: Europe/London
        as_of: 2011-12-10T00:00:00      # local shop time; leave out for "now"
        rules: rules/uk_gift_shop
        reports: var/reports
        sources:
          - name: online_retail
            format: online_retail        # online_retail, rees46 or jsonl
            path: data/online_retail/online_retail.csv.gz
          - name: shop                   # a shop database (docs/shopdb.md)
            format: shopdb
            mapping: examples/shopdb-mapping.yaml
        status: {new_days: 30, new_max_orders: 1, active_days: 90, lapsed_days: 180}
        interests:
          short_term_days: 3
          short_term_size: 4
          weights: {product_view: 1, add_to_cart: 3, purchase: 5}

Relative paths, including the path of a ``sqlite:///`` store, are relative to the
config file's directory. Keys given at the top level next to ``workspaces`` are
defaults for every workspace.

A store on a server keeps its credentials in the environment, not in the file:
``store: mysql+pymysql://segmento:${SEGMENTO_DB_PASSWORD}@db/shop`` or
``store_env: SEGMENTO_STORE_URL`` (see ``segmento.adapters.urls``). Loading the file
checks the rest of the URL, and the references are read when a workspace's store is
opened, so a command on one workspace does not need the variables of the others. A
password written in the file is accepted with a warning. Two more settings tune runs
on a shared store, in seconds::

        lock: {wait: 60, stale_after: 600}       # wait for another run; when a silent one is gone
        retry: {attempts: 4, delay: 1, max_delay: 30}   # after a lost database connection
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import yaml

from segmento.adapters.ingest.loader import FORMATS, SourceSpec
from segmento.adapters.locks import LockSettings
from segmento.adapters.retry import RetryPolicy
from segmento.adapters.shopdb.copy import FORMAT as SHOPDB_FORMAT
from segmento.adapters.shopdb.copy import ShopDbSource
from segmento.adapters.shopdb.copy import source_from_config as shopdb_source
from segmento.adapters.urls import (
    VARIABLE_NAME,
    StoreReference,
    has_written_password,
    mask_url,
    read_store_url,
    with_password_reference,
)
from segmento.adapters.workspace_settings import (
    as_of_setting,
    check_keys,
    evaluate_mode,
    lock_settings,
    profile_settings,
    retry_policy,
)
from segmento.engine.catalog import closest
from segmento.engine.computations import ProfileSettings
from segmento.engine.errors import DataError, Location, SegmentoError
from segmento.engine.temporal import DEFAULT_TIMEZONE, load_timezone

logger = logging.getLogger(__name__)

DEFAULT_CONFIG: Final = "segmento.yaml"
WORKSPACE_KEYS: Final = frozenset(
    {"name", "store", "store_env", "timezone", "as_of", "rules", "reports", "sources", "status", "interests", "lock", "retry", "evaluate"}
)
STORE_KEYS: Final = frozenset({"store", "store_env"})
SOURCE_KEYS: Final = frozenset({"name", "format", "path", "timezone", "mapping"})


class _StoreUrlField:
    """The ``Workspace.store_url`` field: stores a URL or a ``StoreReference``, and reading it returns a URL.

    A ``StoreReference`` is resolved on each read, so the environment is read when the
    store is used, not when the config is loaded.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._attribute = f"_{name}"

    def __get__(self, workspace: Workspace | None, owner: type | None = None) -> str:
        if workspace is None:
            # dataclasses read the class attribute as the field's default: there is none.
            raise AttributeError(self._attribute)
        value = workspace.__dict__[self._attribute]
        return value.resolve() if isinstance(value, StoreReference) else value

    def __set__(self, workspace: Workspace, value: str | StoreReference) -> None:
        workspace.__dict__[self._attribute] = value


@dataclass(frozen=True, repr=False)
class Workspace:
    """One shop: its store, input files, rule directory, time zone and profile settings.

    ``as_of`` is the instant the workspace is evaluated at when a run gives none; a
    naive value is local time in ``timezone``. ``None`` means now.

    ``store_url`` is set to a URL or to a ``StoreReference``, and reading it returns a
    URL. A reference is resolved from the environment on each read, which raises
    ``DataError`` when a variable is not set or is empty. ``resolve_store`` resolves it
    once. ``dataclasses.replace`` and ``==`` read ``store_url`` too, unless the call
    sets it. The URL may contain a password, so ``repr`` leaves it out. Show
    ``store_display`` instead.
    """

    name: str
    store_url: str = _StoreUrlField()
    timezone: str
    rules_dir: Path
    sources: tuple[SourceSpec | ShopDbSource, ...]
    settings: ProfileSettings
    as_of: datetime | None = None
    reports_dir: Path | None = None
    config_path: Path | None = None
    lock: LockSettings = LockSettings()
    retry: RetryPolicy = RetryPolicy()
    evaluate: str = "all"
    """``all`` evaluates every segment on each run; ``changed`` only those whose inputs changed."""

    @property
    def store_display(self) -> str:
        """The store URL with its password masked."""
        return mask_url(self.store_url)

    def with_store(self, url: str) -> Workspace:
        """Return a copy that uses the store at ``url``."""
        return dataclasses.replace(self, store_url=url)

    def resolve_store(self) -> Workspace:
        """Return a copy whose store URL has its ``${NAME}`` references read from the environment now.

        Raises ``DataError`` at the ``store`` or ``store_env`` key, naming the variable,
        when one is not set or is empty. Reading the copy's ``store_url`` cannot fail.
        """
        return dataclasses.replace(self, store_url=self.store_url)

    def __repr__(self) -> str:
        parts = (f"{item.name}={getattr(self, item.name)!r}" for item in dataclasses.fields(self) if item.name != "store_url")
        return f"{type(self).__name__}({', '.join(parts)})"


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> list[Workspace]:
    """Read the workspaces of a config file; raise ``DataError`` naming the file and key.

    ``${NAME}`` references in store URLs are read from ``environ`` (default ``os.environ``)
    when a workspace's ``store_url`` is read, not here. Logs a warning for each workspace
    whose store URL contains a password written in the file.
    """
    environ = os.environ if environ is None else environ
    path = Path(path)
    location = Location(pointer="", source=str(path))
    document = _read_document(path, location)
    base = path.parent.resolve()
    if "workspaces" not in document:
        name = str(document.get("name") or path.stem)
        return [_workspace(name, document, base, location, path, environ, store_location=location)]

    entries = document["workspaces"]
    if not isinstance(entries, Mapping) or not entries:
        raise DataError(
            "'workspaces' must map workspace names to their settings",
            location=location.child("workspaces"),
            code="config_shape",
        )
    defaults = {key: value for key, value in document.items() if key != "workspaces"}
    check_keys(defaults, WORKSPACE_KEYS - {"name"}, location)
    workspaces = []
    for name, entry in entries.items():
        where = location.child("workspaces", str(name))
        if not isinstance(entry, Mapping):
            raise DataError("a workspace must be a mapping of settings", location=where, value=entry, code="config_shape")
        settings = {**defaults, **entry}
        owns_store = not STORE_KEYS.isdisjoint(entry)
        if owns_store:
            # A workspace's own store replaces the default one, whichever of the two keys each uses.
            for key in STORE_KEYS - set(entry):
                settings.pop(key, None)
        store_location = where if owns_store else location
        workspaces.append(_workspace(str(name), settings, base, where, path, environ, store_location=store_location))
    return workspaces


def _read_document(path: Path, location: Location) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(
            "workspace config not found",
            location=Location(source=str(path)),
            hint=f"Pass --config PATH, or run from a directory that has a {DEFAULT_CONFIG}",
            code="config_not_found",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read workspace config: {error}", location=location, code="config_unreadable") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise DataError(
            f"workspace config is not valid YAML: {getattr(error, 'problem', error)}",
            location=Location(source=str(path), line=line, column=(mark.column + 1) if mark is not None else None),
            hint="Check the indentation and the quoting on that line",
            code="config_yaml",
        ) from None
    if not isinstance(document, Mapping):
        raise DataError("workspace config must be a mapping", location=location, code="config_shape")
    return document


def select_workspaces(workspaces: list[Workspace], name: str | None) -> list[Workspace]:
    """Return every workspace, or the one called ``name``."""
    if name is None:
        return workspaces
    for workspace in workspaces:
        if workspace.name == name:
            return [workspace]
    names = [workspace.name for workspace in workspaces]
    suggestion = closest(name, names)
    raise DataError(
        f"no workspace named {name!r}",
        value=name,
        hint=(f"Did you mean {suggestion!r}? " if suggestion else "") + "Workspaces: " + ", ".join(names),
        code="unknown_workspace",
    )


def _workspace(
    name: str,
    entry: Mapping[str, Any],
    base: Path,
    location: Location,
    path: Path,
    environ: Mapping[str, str],
    *,
    store_location: Location,
) -> Workspace:
    """Build one workspace from its settings. ``store_location`` is the mapping that contains its store key."""
    check_keys(entry, WORKSPACE_KEYS, location)
    timezone = str(entry.get("timezone") or DEFAULT_TIMEZONE)
    try:
        load_timezone(timezone)
    except SegmentoError as error:
        raise DataError(error.message, location=location.child("timezone"), value=timezone, hint=error.hint) from None
    store = _store(name, entry, store_location, environ, base)
    rules = entry.get("rules")
    if not isinstance(rules, str) or not rules:
        raise DataError("workspace needs a rules directory", location=location.child("rules"), code="config_missing")
    reports = entry.get("reports")
    return Workspace(
        name=name,
        store_url=store,
        lock=lock_settings(entry.get("lock"), location.child("lock")),
        retry=retry_policy(entry.get("retry"), location.child("retry")),
        timezone=timezone,
        rules_dir=base / rules,
        sources=_sources(entry.get("sources") or [], base, timezone, location.child("sources")),
        settings=profile_settings(entry, location),
        as_of=as_of_setting(entry.get("as_of"), location.child("as_of")),
        reports_dir=base / str(reports) if reports else None,
        config_path=path,
        evaluate=evaluate_mode(entry.get("evaluate"), location.child("evaluate")),
    )


def _store(
    name: str, entry: Mapping[str, Any], location: Location, environ: Mapping[str, str], base: Path
) -> str | StoreReference:
    """Return the workspace's store URL, or a ``StoreReference`` to resolve when the store is opened."""
    store, variable = entry.get("store"), entry.get("store_env")
    if store is not None and variable is not None:
        raise DataError(
            "give either 'store' or 'store_env', not both",
            location=location.child("store_env"),
            code="config_value",
        )
    if variable is not None:
        if not isinstance(variable, str) or VARIABLE_NAME.fullmatch(variable) is None:
            raise DataError(
                "'store_env' must name an environment variable: letters, digits and _, not starting with a digit",
                location=location.child("store_env"),
                value=variable,
                hint="For example store_env: SEGMENTO_STORE_URL",
                code="config_value",
            )
        return StoreReference(f"${{{variable}}}", location.child("store_env"), base, environ)
    if not isinstance(store, str) or not store:
        raise DataError(
            "workspace needs a store URL",
            location=location.child("store"),
            hint="For example store: sqlite:///var/shop.db, or store_env: SEGMENTO_STORE_URL with "
            "mysql+pymysql://user:password@host/db in that environment variable",
            code="config_missing",
        )
    url = read_store_url(store, environ, location=location.child("store"), base=base)
    if has_written_password(store):
        _warn_written_password(name, store, location.child("store"))
    return url


def _warn_written_password(name: str, url: str, location: Location) -> None:
    """Log that a workspace's store URL contains a password, with the URL masked and a variable to use instead."""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    variable = f"SEGMENTO_{stem}_DB_PASSWORD" if stem else "SEGMENTO_DB_PASSWORD"
    logger.warning(
        "workspace %s: the store URL at %s contains a password, so anyone who can read the file can read it. "
        "Move the password into the environment variable %s and write store: %s",
        name,
        location,
        variable,
        with_password_reference(url, variable),
    )


def _sources(entries: Any, base: Path, timezone: str, location: Location) -> tuple[SourceSpec | ShopDbSource, ...]:
    if not isinstance(entries, list):
        raise DataError("'sources' must be a list", location=location, value=entries, code="config_shape")
    specs: list[SourceSpec | ShopDbSource] = []
    for index, entry in enumerate(entries):
        where = location.child(index)
        if not isinstance(entry, Mapping):
            raise DataError("a source must be a mapping", location=where, value=entry, code="config_shape")
        check_keys(entry, SOURCE_KEYS, where)
        source_format = entry.get("format")
        if source_format == SHOPDB_FORMAT:
            specs.append(shopdb_source(entry, base, where))
            continue
        if source_format not in FORMATS:
            raise DataError(
                f"unknown source format {source_format!r}",
                location=where.child("format"),
                value=source_format,
                hint="Use one of: " + ", ".join((*FORMATS, SHOPDB_FORMAT)),
                code="config_value",
            )
        if not entry.get("path"):
            raise DataError("a source needs a path", location=where.child("path"), code="config_missing")
        zone = str(entry.get("timezone") or timezone)
        try:
            load_timezone(zone)
        except SegmentoError as error:
            raise DataError(error.message, location=where.child("timezone"), value=zone, hint=error.hint) from None
        name = str(entry.get("name") or source_format)
        specs.append(SourceSpec(name, str(source_format), base / str(entry["path"]), zone))
    return tuple(specs)
