"""Compilation targets as plugins register them: a name and the import path of the compiler.

The compiler class is named by its import path rather than passed as a class, so the
registry can list every target without importing a target's library (SQLAlchemy,
Spark, ...). ``Registry.compiler`` imports the class the first time it is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

TargetOutput = Literal["query", "predicate"]

COMPILER_PATH: Final = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
"""Form of ``TargetSpec.compiler``: ``package.module:ClassName``."""


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A target that rules compile for, and where its compiler class is.

    ``compiler`` is ``"package.module:ClassName"``; the class derives from
    ``segmento.engine.compiler.Compiler`` and its ``target`` attribute is ``name``.
    ``dialects`` lists the variants the compiler writes for, such as SQL databases, and
    is empty when it has none. ``output`` is ``"query"`` when the compiler returns a
    query for a store (text, a statement or a search document), which ``segmento
    compile`` can print, and ``"predicate"`` when it returns a Python function of a
    profile. ``plugin`` is the name of the registering plugin; the registry fills it in.
    """

    name: str
    compiler: str
    dialects: tuple[str, ...] = ()
    description: str = ""
    output: TargetOutput = "query"
    plugin: str = ""

    @property
    def module(self) -> str:
        """The module part of ``compiler``."""
        return self.compiler.partition(":")[0]

    @property
    def class_name(self) -> str:
        """The class part of ``compiler``, dotted for a nested class."""
        return self.compiler.partition(":")[2]
