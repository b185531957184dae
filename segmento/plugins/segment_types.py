"""Names of the built-in segment type plugins, registered beside ``builtin``.

Each module is an ordinary plugin built only on the public hooks, so a plugin author
can read any of them as an example.
"""

from typing import Final

SEGMENT_TYPE_PLUGINS: Final[tuple[str, ...]] = (
    "segmento.plugins.customer",
    "segmento.plugins.shopping_habits",
    "segmento.plugins.interests",
    "segmento.plugins.status",
    "segmento.plugins.interaction",
    "segmento.plugins.behaviour",
)

BUILTIN_TARGET_PLUGINS: Final[tuple[tuple[str, str], ...]] = (("sql", "segmento.plugins.sql.plugin"),)
"""Built-in target plugins as (plugin name, module) pairs.

Each module registers its operator implementations lazily and must not import the
target's library (SQLAlchemy, Spark, ...) at module level.
"""
