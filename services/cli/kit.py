"""What every ``thidua`` command shares: the root group (readable operator errors, exit codes, lazily loaded
command groups), the console its output goes through, and the name hints should use to call it again.

Exit codes (docs/operations.md): 0 done; 1 a check failed or the node refused the command; 2 a usage mistake
(unknown command, option or name); 3 a set-up mistake (a setting, file or port); 4 the database is at another
schema revision; 5 the database or the Kafka broker cannot be reached.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import traceback
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from services.kernel.errors import MissingExtra, OperatorError, ThiduaError

REFUSED_EXIT_CODE = 1  # a domain rule refused the command (not a set-up mistake)
WIDE = 400  # columns of the output when it is not a terminal: tables are not squeezed, lines never wrap


def console(stderr: bool = False) -> Console:
    """A rich console for command output. On a terminal rich sizes it; piped or redirected (a file, ``| grep``,
    ``$(...)``), it never wraps a line nor squeezes a table, so printed commands, URLs and secrets stay whole."""
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=WIDE, soft_wrap=True)


def debugging(ctx: typer.Context | None) -> bool:
    """Whether tracebacks were asked for: ``--debug`` or ``THIDUA_LOG_LEVEL=DEBUG``."""
    root = ctx.find_root() if ctx is not None else None
    wanted = bool(root and root.params.get("debug"))
    return wanted or os.environ.get("THIDUA_LOG_LEVEL", "").strip().upper() == "DEBUG"


def report(error: ThiduaError, cause: BaseException, debug: bool) -> None:
    """Print ``error`` as two lines on stderr, Vietnamese then English (after the traceback when debugging)."""
    if debug:
        traceback.print_exception(cause, file=sys.stderr)
    sys.stderr.write(f"Lỗi: {error.message_vi}\nError [{error.code}]: {error.message_en}\n")
    sys.stderr.flush()


class RootGroup(TyperGroup):
    """The ``thidua`` group: turns operator errors (and the infrastructure failures ``explain`` recognises) into
    two readable lines and a documented exit code; adds the command groups that load only when called."""

    lazy: dict[str, tuple[str, str]] = {
        # name: (module:attribute of a typer.Typer, one-line help shown in `thidua --help`)
        "bench": ("bench.cli:bench_app", "Benchmarks beside a ceiling measured in the same run (docs/benchmarks.md)."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, (target, help_text) in self.lazy.items():
            self.add_command(LazyGroup(name=name, target=target, help=help_text))

    def invoke(self, ctx: Any) -> Any:  # the Context of whichever click typer uses
        from services.cli.errors import explain

        try:
            return super().invoke(ctx)
        except Exception as exc:  # typer's own exits and usage errors are not explained: they pass through
            error = explain(exc)
            if error is None:
                raise
            report(error, exc, debugging(ctx))
            ctx.exit(error.exit_code if isinstance(error, OperatorError) else REFUSED_EXIT_CODE)


class LazyGroup(TyperGroup):
    """A command group whose module is imported only when one of its commands (or its help) is asked for, so
    ``thidua`` itself never imports it. Only subcommands are loaded lazily: the group takes no options itself."""

    def __init__(self, *, name: str, target: str, help: str) -> None:  # noqa: A002 - click's parameter name
        super().__init__(name=name, help=help, no_args_is_help=True)
        self.target = target
        self._loaded: TyperGroup | None = None

    @property
    def commands(self) -> Any:
        return self.load().commands

    @commands.setter
    def commands(self, _value: Any) -> None:  # TyperGroup.__init__ sets an empty dict: the real ones come on load
        pass

    def load(self) -> TyperGroup:
        """Import the group's module (once)."""
        if self._loaded is None:
            module_name, attribute = self.target.split(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name.split(".")[0]:
                    raise
                raise MissingExtra(
                    f"Gói đã cài không có lệnh `thidua {self.name}` (thiếu mô-đun {module_name}): cài lại "
                    f"thidua-sync đầy đủ, hoặc chạy từ mã nguồn.",
                    f"This installation has no `thidua {self.name}` (module {module_name} is missing): reinstall "
                    "the complete thidua-sync package, or run it from a source checkout.",
                ) from exc
            group = typer.main.get_command(getattr(module, attribute))
            assert isinstance(group, TyperGroup), self.target
            self._loaded = group
        return self._loaded


def invoked_as() -> str:
    """How to call ``thidua`` again in a printed hint: ``thidua`` when that is on PATH and is this program, else
    its path (relative to the working directory when inside it, e.g. ``.venv/bin/thidua``)."""
    program = Path(sys.argv[0])
    if program.name != "thidua":
        return "thidua"
    on_path = shutil.which("thidua")
    if on_path and Path(on_path).resolve() == program.resolve():
        return "thidua"
    try:
        return str(program.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(program.resolve())
