"""The VS Code extension contributes every setting of settings.py (editors/vscode/scripts/settings_schema.py).

A setting added to settings.py needs a description in settings_schema.py's DOC table; then run
`python editors/vscode/scripts/settings_schema.py` to rewrite editors/vscode/package.json.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_vscode_package_json_lists_every_setting_with_its_default() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "editors" / "vscode" / "scripts" / "settings_schema.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
