"""Error types of tradeopt and the exit codes the CLI maps them to.

Exit codes: 0 ok, 1 internal error (a bug), 2 input error (bad data, scenario,
basket or option), 3 infeasible model, 4 solver failure, 5 output not writable,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_SOLVER = 4
EXIT_OUTPUT = 5
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_TERMINATED = 128 + 15  # SIGTERM


class TradeoptError(Exception):
    """Base of every error tradeopt raises on purpose."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.message + (f" Fix: {self.fix}" if self.fix else "")


class InputError(TradeoptError):
    """Bad user input. Names the file, the rows (1-based data rows, first few),
    the field or key, and how many places are affected."""

    exit_code = EXIT_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        rows: Sequence[int] | None = None,
        field: str | None = None,
        count: int | None = None,
        fix: str | None = None,
    ):
        super().__init__(message, fix=fix)
        self.file = None if file is None else str(file)
        self.rows = list(rows) if rows is not None else None
        self.field = field
        self.count = count

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            n_shown = len(self.rows[:5])
            more = f" (+{self.count - n_shown} more)" if self.count and self.count > n_shown else ""
            where.append(f"row {shown}{more}")
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        return prefix + super().__str__()


class DataError(InputError):
    """A trade data file (BACI CSV, zip, parquet) or DataFrame is malformed."""


class ScenarioError(InputError):
    """A scenario file, basket file or override is invalid."""


class InfeasibleError(TradeoptError):
    """The model has no feasible solution; the message says what to relax."""

    exit_code = EXIT_INFEASIBLE


class SolverError(TradeoptError):
    """The solver failed (error, time limit without a solution, unbounded)."""

    exit_code = EXIT_SOLVER


class OutputError(TradeoptError):
    """The output location cannot be written (checked before solving)."""

    exit_code = EXIT_OUTPUT


def missing_extra(extra: str, feature: str, exc: ImportError) -> InputError:
    """The error for an optional feature whose extra is not installed (``pip install 'tradeopt[extra]'``)."""
    return InputError(f"{feature} needs the optional package {exc.name or extra!r}, which is not installed",
                      field=extra, fix=f"pip install 'tradeopt[{extra}]'")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every ``finally`` and temporary-folder cleanup runs."""


#: Set once SIGTERM arrives. The handler also raises ``Terminated``, but Python drops an exception raised
#: while a finalizer runs (a pyarrow writer's ``__del__``, say), so the writers check this before they
#: commit an output and the CLI checks it when the command returns.
TERMINATION = threading.Event()


def raise_if_terminated() -> None:
    """Raise ``Terminated`` when SIGTERM has arrived (``TERMINATION``), even if its first raise was lost."""
    if TERMINATION.is_set():
        raise Terminated()


def exit_status(exc: BaseException) -> tuple[int, str]:
    """The exit code for ``exc`` and the one line the CLI prints (an error that is not ours is a bug: it says so)."""
    if isinstance(exc, Terminated):
        return EXIT_TERMINATED, "Terminated."
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "Interrupted."
    if isinstance(exc, TradeoptError):
        return exc.exit_code, f"Error: {exc}"
    return EXIT_INTERNAL, f"Internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
