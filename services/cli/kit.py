"""What every ``thidua`` command shares: the root group (readable operator errors, exit codes, the command groups
other packages register, loaded when called), the console its output goes through, and the name hints should use
to call it again.

Exit codes (docs/operations.md): 0 done; 1 a check failed or the node refused the command; 2 a usage mistake
(unknown command, option or name); 3 a set-up mistake (a setting, file or port); 4 the database is at another
schema revision; 5 the database or the Kafka broker cannot be reached.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import traceback
from importlib.metadata import Distribution, EntryPoint, entry_points
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from services.kernel.errors import MissingExtra, OperatorError, ThiduaError

REFUSED_EXIT_CODE = 1  # a domain rule refused the command (not a set-up mistake)
COMMANDS_GROUP = "thidua.commands"  # entry-point group of the command groups other packages add
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
    two readable lines and a documented exit code; adds the command groups other packages register under the
    ``thidua.commands`` entry-point group (``bench`` does), each loaded only when called."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for entry_point in plugin_commands():
            if entry_point.name not in self.commands:  # a plug-in never replaces a command of the product
                self.add_command(LazyGroup(entry_point))

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


def plugin_commands() -> list[EntryPoint]:
    """The command groups installed packages add to ``thidua`` (entry points ``name = "module:typer_app [extra]"``
    in the ``thidua.commands`` group), by name; none is imported here."""
    return sorted(entry_points(group=COMMANDS_GROUP), key=lambda entry_point: entry_point.name)


class LazyGroup(TyperGroup):
    """A command group registered by an entry point, whose module is imported only when one of its commands (or its
    help) is asked for, so ``thidua`` itself never imports it. A module of the entry point's extra that is not
    installed is said in two lines (``pip install 'thidua-sync[bench]'``). The group takes no options itself."""

    def __init__(self, entry_point: EntryPoint) -> None:
        super().__init__(
            name=entry_point.name,
            help=f"Commands added by {entry_point.module} (loaded when called: thidua {entry_point.name} --help).",
            no_args_is_help=True,
        )
        self.entry_point = entry_point
        self._loaded: TyperGroup | None = None

    @property
    def commands(self) -> Any:
        return self.load().commands

    @commands.setter
    def commands(self, _value: Any) -> None:  # TyperGroup.__init__ sets an empty dict: the real ones come on load
        pass

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.load()  # the group's own help text, not the placeholder shown in `thidua --help`
        super().format_help(ctx, formatter)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:
            raise self.missing_extra(exc) or exc from exc

    def load(self) -> TyperGroup:
        """Import the group's module (once)."""
        if self._loaded is None:
            module_name = self.entry_point.module
            try:
                app = self.entry_point.load()
            except ModuleNotFoundError as exc:
                if exc.name != module_name.split(".")[0]:
                    raise self.missing_extra(exc) or exc from exc
                raise MissingExtra(
                    f"Gói đã cài không có lệnh `thidua {self.name}` (thiếu mô-đun {module_name}): cài lại "
                    f"thidua-sync đầy đủ, hoặc chạy từ mã nguồn.",
                    f"This installation has no `thidua {self.name}` (module {module_name} is missing): reinstall "
                    "the complete thidua-sync package, or run it from a source checkout.",
                ) from exc
            group = typer.main.get_command(app)
            assert isinstance(group, TyperGroup), self.entry_point.value
            self.help = group.help
            self._loaded = group
        return self._loaded

    def missing_extra(self, exc: ModuleNotFoundError) -> MissingExtra | None:
        """The two lines for a module of one of the entry point's extras that is not installed, else None."""
        missing = (exc.name or "").split(".")[0]
        distribution = self.entry_point.dist
        for extra in self.entry_point.extras:
            if distribution is not None and missing in extra_modules(distribution, extra):
                name = distribution.metadata["Name"]
                return MissingExtra(
                    f"Lệnh `thidua {self.name}` cần gói tùy chọn {extra} (thiếu {missing}): "
                    f"pip install '{name}[{extra}]'.",
                    f"`thidua {self.name}` needs the {extra} extra ({missing} is missing): "
                    f"pip install '{name}[{extra}]'.",
                )
        return None


def extra_modules(distribution: Distribution, extra: str) -> set[str]:
    """The top-level module names of the requirements ``distribution`` lists under ``extra`` (as imported: the
    distribution name lower-cased, ``-`` and ``.`` read as ``_``)."""
    wanted = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
    names = set()
    for requirement in distribution.requires or []:
        spec, _, marker = requirement.partition(";")
        if wanted.search(marker) and (name := re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec.strip())):
            names.add(re.sub(r"[-.]", "_", name.group(0)).lower())
    return names


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
