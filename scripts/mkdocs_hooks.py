"""MkDocs hook: make this checkout importable, so mkdocs-click documents this checkout's cli.py.

MkDocs 1.6 restores ``sys.path`` after loading a hook module, so the checkout is put first on
``sys.path`` when the configuration is loaded (``on_config``), which lasts for the whole build;
first, so an installed tradeopt (e.g. another editable checkout) is not documented instead.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])


def on_config(config):
    """Put the checkout first on ``sys.path`` (mkdocs-click imports ``cli`` while pages are rendered)."""
    if sys.path[:1] != [ROOT]:
        sys.path.insert(0, ROOT)
    return config
