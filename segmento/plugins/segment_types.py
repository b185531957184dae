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
