"""The ``thidua`` command line: the root command, ``serve``, and every command group registered on it."""

from __future__ import annotations

import errno
import logging
import socket

import typer

from services.cli.api import register as register_api
from services.cli.audit import register as register_audit
from services.cli.db import register as register_db
from services.cli.demo import register as register_demo
from services.cli.kit import RootGroup, console
from services.cli.pipeline import register as register_pipeline
from services.cli.schemas import register as register_schemas
from services.cli.seeds import register as register_seeds
from services.cli.sync import register as register_sync
from services.cli.users import register as register_users
from services.kernel.errors import InvalidSetting, OperatorError, PortInUse
from services.kernel.settings import ApiSettings

app = typer.Typer(
    cls=RootGroup,  # readable operator errors, exit codes; entry-point groups (`thidua bench`) loaded when called
    help="thidua-sync: đồng bộ dữ liệu thi đua, khen thưởng / emulation & commendation sync.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a traceback must not print settings, URLs or secrets
)
register_schemas(app)  # schemas list|check|freeze|codegen|export
register_db(app)  # db upgrade|downgrade|current|history|init
register_pipeline(app)  # topics, relay, worker, pipeline
register_sync(app)  # sync, sync reconcile, sync rules
register_seeds(app)  # seeds import
register_demo(app)  # demo
register_api(app)  # clients add|list|revoke, api openapi
register_audit(app)  # audit checkpoint|verify|export|verify-export|keys, replay
register_users(app)  # users add|list|disable|enable|reset-password|unlock|import|signins
out = console()


@app.callback()
def main(
    debug: bool = typer.Option(
        False, "--debug", help="Print the traceback of an error (also THIDUA_LOG_LEVEL=DEBUG).", is_eager=True
    ),
) -> None:
    """thidua-sync: đồng bộ dữ liệu thi đua, khen thưởng / emulation & commendation sync."""


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="TCP port."),
    projections: bool = typer.Option(True, help="Run the embedded projection tail in-process."),
) -> None:
    """Run the node's HTTP API and the officials' web app at / (embedded default: SQLite under ./var, projections
    in-process), with automatic signed checkpoints in a background thread (audit_checkpoint_every /
    audit_checkpoint_minutes)."""
    import threading

    import uvicorn

    from services import migrations
    from services.api.app import create_app
    from services.audit.checkpoints import checkpointer_for, start_checkpoints
    from services.bootstrap import bootstrap

    settings = ApiSettings()
    logging.basicConfig(level=settings.log_level)
    listening = listen(host, port)  # before anything else: a taken port is said at once, in one line
    try:
        node = bootstrap(settings)
        migrations.require_current(node.engine)  # reads only; an unreachable database is said here too
        out.print(
            f"[bold]thidua-sync[/] node [cyan]{settings.node_id}[/] · database "
            f"{node.engine.url.render_as_string(hide_password=True)} · http://{host}:{port}"
        )
        stop, checkpoints = threading.Event(), None
        if (checkpointer := checkpointer_for(node.store, settings)) is not None:
            checkpoints = start_checkpoints(checkpointer, stop)
        app = create_app(node, run_projections=projections)
        if settings.web_enabled:
            from services.web.app import mount

            mount(app, node, live_from_runner=projections)
        # open pages hold live streams: a stop waits at most 5 s for them (they reconnect to the next process)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="info",
            timeout_graceful_shutdown=5,
            timeout_keep_alive=settings.api_keepalive_seconds,  # not uvicorn's 5 s: the length of httpx's own pool
        )
        try:
            uvicorn.Server(config).run(sockets=[listening])
        except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down gracefully on (uvicorn.run swallows it)
            pass
        finally:
            stop.set()
            if checkpoints is not None:
                checkpoints.join(timeout=10)
    finally:
        listening.close()


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` as uvicorn binds it, or an operator error saying why it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise _not_listening(host, port, exc) from exc
    sock.set_inheritable(True)
    return sock


def _not_listening(host: str, port: int, exc: OSError) -> OperatorError:
    if exc.errno == errno.EADDRINUSE:
        return PortInUse(
            f"Cổng {port} trên {host} đang được tiến trình khác dùng (có thể một nút thidua đang chạy): dừng tiến "
            f"trình đó, hoặc chọn cổng khác: thidua serve --port {port + 1} (make run PORT={port + 1}).",
            f"Port {port} on {host} is in use by another process (perhaps a running thidua node): stop it, or "
            f"choose another port: thidua serve --port {port + 1} (make run PORT={port + 1}).",
            host=host,
            port=port,
        )
    if exc.errno == errno.EACCES:
        return InvalidSetting(
            f"Không được phép mở cổng {port} (cổng dưới 1024 cần quyền quản trị): chọn --port từ 1024 trở lên.",
            f"Not allowed to listen on port {port} (ports below 1024 need privileges): choose --port 1024 or above.",
            port=port,
        )
    return InvalidSetting(
        f"Không lắng nghe được trên {host}:{port} ({exc.strerror or exc}): --host phải là một địa chỉ của máy "
        "này, ví dụ 127.0.0.1 hoặc 0.0.0.0.",
        f"Cannot listen on {host}:{port} ({exc.strerror or exc}): --host must be an address of this machine, "
        "e.g. 127.0.0.1 or 0.0.0.0.",
        host=host,
    )
