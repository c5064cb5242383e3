"""When tradeopt draws progress bars (tqdm, on stderr): only on an interactive terminal, so log files
never fill with bar redraws; ``--progress`` / ``--no-progress`` force it (``TRADEOPT_PROGRESS=1``/``0``,
inherited by worker processes)."""
from __future__ import annotations

import os
import sys

#: "1" draws bars even when stderr is no terminal, "0" never; unset: only on a terminal.
ENV = "TRADEOPT_PROGRESS"


def progress_disabled(quiet: bool = False) -> bool:
    """tqdm's ``disable``: True with ``quiet`` (or ``TRADEOPT_QUIET``), else as forced by ``TRADEOPT_PROGRESS``,
    else when stderr is not a terminal."""
    if quiet or os.environ.get("TRADEOPT_QUIET"):
        return True
    forced = os.environ.get(ENV, "").strip()
    if forced in ("0", "1"):
        return forced == "0"
    return not sys.stderr.isatty()


def set_progress(show: bool | None) -> None:
    """Force progress bars on (True) or off (False) for this process and its workers; None leaves the default."""
    if show is not None:
        os.environ[ENV] = "1" if show else "0"
