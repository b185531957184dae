"""The machine and command lines that each benchmark prints beside its results."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from pathlib import Path


def describe_machine() -> str:
    """Return the core count, CPU model, operating system and Python version."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"nproc={os.cpu_count()}, CPU {model}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def describe_command() -> str:
    """Return the command line that started this process, quoted for a shell."""
    return shlex.join([sys.executable, *sys.argv])
