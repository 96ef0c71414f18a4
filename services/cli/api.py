"""``thidua clients add|list|revoke`` (API credentials, the LGSP's AppName / AccessKey / SecretKey) and
``thidua api openapi`` (the OpenAPI document committed at docs/openapi.json), ``thidua api refusals`` (its table
of refusal codes in docs/api.md)."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from services.cli.kit import console as cli_console
from services.kernel.errors import UsageMistake
from services.kernel.settings import ApiSettings

console = cli_console()
clients_app = typer.Typer(
    help="API clients (ứng dụng kết nối): credentials for POST /api/v1/token.", no_args_is_help=True
)
api_app = typer.Typer(help="The HTTP API's documents.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``clients`` and ``api`` to the ``thidua`` CLI."""
    app.add_typer(clients_app, name="clients")
    app.add_typer(api_app, name="api")


def _store(create: bool = True) -> Any:
    """The node and its client store; ``create=False`` (list, revoke) never creates a database."""
    from services.api.security.clients import ClientStore
    from services.bootstrap import bootstrap, existing_node

    if create:
        node = bootstrap(ApiSettings())
        node.init_db()
    else:
        node = existing_node(ApiSettings())
    return node, ClientStore(node.engine)


def _known_unit(node: Any, path: str) -> bool:
    from services.kernel.uow import UnitOfWork
    from services.registry.lookup import find_org_unit

    with UnitOfWork(node.store, node.bus.types) as uow:
        return find_org_unit(uow, node.official_units, path) is not None


Roles = Annotated[str, typer.Option(help="Comma-separated: submitter, reviewer, council, decider, auditor, operator.")]


@clients_app.command("add")
def clients_add(
    name: Annotated[str, typer.Option(help="AppName: who the client is, e.g. 'LGSP tỉnh Lào Cai'.")],
    org_unit: Annotated[str, typer.Option(help="Org-unit path the client acts for, e.g. VN/15 or VN/31/11086.")],
    roles: Roles,
    rate_limit: Annotated[int | None, typer.Option(help="Requests per minute (default: the node's).")] = None,
    client_id: Annotated[str | None, typer.Option(help="AccessKey to use (default: generated).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the credentials as one JSON object.")] = False,
    as_shell: Annotated[
        bool,
        typer.Option("--shell", help='Print CLIENT_ID=... and CLIENT_SECRET=... for eval "$(thidua clients add ...)".'),
    ] = False,
) -> None:
    """Register a client and print its client_id (AccessKey) and client_secret (SecretKey, shown once)."""
    from services.api.security.clients import UnknownRole

    node, store = _store()
    try:
        if not _known_unit(node, org_unit):
            raise UsageMistake(
                f"Không có đơn vị {org_unit}: dùng đường dẫn tỉnh/xã chính thức (ví dụ VN/46, VN/31/11086) hoặc một "
                "đơn vị đã đăng ký.",
                f"Unknown org unit {org_unit}: use an official province/commune path (e.g. VN/46, VN/31/11086) or a "
                "registered unit.",
                org_unit=org_unit,
            )
        client, secret = store.add(
            name, org_unit, [r.strip() for r in roles.split(",") if r.strip()], rate_limit, client_id
        )
    except UnknownRole as exc:
        raise UsageMistake(f"Vai trò không hợp lệ: {exc}", f"Invalid roles: {exc}") from exc
    finally:
        node.close()
    credentials = {
        "client_id": client.client_id,
        "client_secret": secret,
        "org_unit": client.org_unit_path,
        "roles": list(client.roles),
    }
    if as_json:
        typer.echo(json.dumps(credentials, ensure_ascii=False))
    elif as_shell:
        typer.echo(f"CLIENT_ID={shlex.quote(client.client_id)}\nCLIENT_SECRET={shlex.quote(secret)}")
    else:
        console.print(f"client_id (AccessKey):     {client.client_id}", markup=False, highlight=False)
        console.print(
            f"client_secret (SecretKey): {secret}  — chỉ hiện một lần / shown once, stored hashed",
            markup=False,
            highlight=False,
        )
        console.print(
            f"token: curl -s -u {shlex.quote(client.client_id + ':' + secret)} -d grant_type=client_credentials "
            "http://127.0.0.1:8000/api/v1/token",
            markup=False,
            highlight=False,
        )


@clients_app.command("list")
def clients_list() -> None:
    """List clients: id, name, org unit, roles, quota, state."""
    node, store = _store(create=False)
    table = Table("name", "org unit", "roles", "quota/min", "state")
    table.add_column("client_id", no_wrap=True)
    for client in store.list():
        state = "active" if client.active else f"revoked {client.revoked_at:%Y-%m-%d %H:%M}"
        quota = str(client.rate_limit_per_minute or "default")
        table.add_row(client.name, client.org_unit_path, ", ".join(client.roles), quota, state, client.client_id)
    node.close()
    console.print(table)


@clients_app.command("revoke")
def clients_revoke(client_id: str) -> None:
    """Revoke a client: its tokens stop working at once."""
    node, store = _store(create=False)
    done = store.revoke(client_id)
    node.close()
    if not done:
        console.print(f"[red]no active client {client_id}[/]")
        raise typer.Exit(1)
    console.print(f"revoked {client_id}")


@clients_app.command("revoke-token")
def clients_revoke_token(
    token: Annotated[str, typer.Argument(help="The token itself (a JWT) or its jti")],
    reason: Annotated[str | None, typer.Option(help="Why (kept with the revocation)")] = None,
) -> None:
    """Revoke one token (by the token or its jti): refused from the next request, its client keeps working."""
    import jwt

    settings = ApiSettings()
    expires = datetime.now(UTC) + timedelta(seconds=settings.api_token_ttl_seconds + 60)
    jti, client_id = token.strip(), None
    if jti.count(".") == 2:  # a JWT: read its jti, client and expiry (the signature does not matter here)
        try:
            claims = jwt.decode(jti, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            console.print(f"[red]Không đọc được mã truy cập / not a readable token: {exc}[/]")
            raise typer.Exit(2) from exc
        jti, client_id = str(claims.get("jti") or ""), claims.get("sub")
        if isinstance(claims.get("exp"), int):
            expires = datetime.fromtimestamp(claims["exp"], UTC) + timedelta(seconds=60)
    if not jti or len(jti) > 64:
        console.print("[red]Mã truy cập không có jti hợp lệ / the token has no usable jti[/]")
        raise typer.Exit(2)
    node, store = _store(create=False)
    try:
        done = store.revoke_token(jti, expires, client_id, reason)
    finally:
        node.close()
    if not done:
        console.print(f"Mã {jti} đã bị thu hồi trước đó / token {jti} was already revoked")
        return
    console.print(f"Đã thu hồi mã {jti} / revoked token {jti} (đến / until {expires:%Y-%m-%d %H:%M} UTC)")


def render_openapi() -> str:
    """The API's OpenAPI document as committed (independent of settings and of any database)."""
    from sqlalchemy import create_engine

    from services.api.app import create_app
    from services.bootstrap import bootstrap

    node = bootstrap(ApiSettings(node_id="local"), engine=create_engine("sqlite://"))
    document = create_app(node, run_projections=False, run_webhooks=False).openapi()
    node.close()
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


@api_app.command("refusals")
def api_refusals() -> None:
    """Print the refusal table of docs/api.md (code, status, meaning, what to do), from services/api/refusals.py."""
    from services.api.refusals import markdown

    typer.echo(markdown(), nl=False)


@api_app.command("openapi")
def api_openapi() -> None:
    """Print the OpenAPI document (regenerate the committed one: thidua api openapi > docs/openapi.json)."""
    typer.echo(render_openapi(), nl=False)
