"""What the benchmark scripts share: Django set up on the app's own settings, and a report
header that says how, on what code and on what machine the figures were made."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def header() -> str:
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    describe = ["git", "-C", str(ROOT), "describe", "--always", "--dirty"]
    commit = subprocess.run(describe, capture_output=True, text=True).stdout.strip()
    machine = f"{platform.machine()} · {os.cpu_count()} CPUs"
    return f"command: {command}\ncommit {commit} · {machine}"
