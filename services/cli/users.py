"""``thidua users add | list | disable | enable | reset-password | unlock | import | signins``: people's accounts
for the web app (tài khoản cán bộ), bound to an org unit and the same roles as API clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from services.cli.kit import console as cli_console
from services.kernel.errors import OperatorError, ThiduaError
from services.kernel.settings import ApiSettings

console = cli_console()  # piped or redirected: never wrapped (temporary passwords stay whole)
users_app = typer.Typer(
    help="Tài khoản cán bộ cho ứng dụng web / people's accounts for the web app (sign-in at /dang-nhap).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``users`` to the ``thidua`` CLI."""
    app.add_typer(users_app, name="users")


@dataclass
class Accounts:
    """What the commands work with: the node, its accounts and its sign-in log."""

    node: Any
    users: Any
    signin: Any

    def resolve(self, refs: list[str]) -> dict[str, tuple[str, str] | None]:
        """Org units by code or path (write side)."""
        from services.web.accounts.orgunits import resolve_many

        return resolve_many(self.node.store, self.node.bus.types, self.node.official_units, refs)


@contextmanager
def _accounts() -> Iterator[Accounts]:
    from services.bootstrap import bootstrap
    from services.web.accounts.signin import Policy, SignIn
    from services.web.accounts.users import UserStore

    node = bootstrap(ApiSettings())
    try:
        node.init_db()
        users = UserStore(node.engine)
        yield Accounts(node, users, SignIn(node.engine, users, Policy()))
    except OperatorError:  # a database at another revision: the root group's two lines, exit 4
        raise
    except ThiduaError as exc:  # a refused name or value
        console.print(f"[red][{exc.code}][/] {exc.message}", highlight=False)
        raise typer.Exit(getattr(exc, "exit_code", 2)) from exc
    finally:
        node.close()


Roles = Annotated[
    str, typer.Option(help="Vai trò, cách nhau dấu phẩy: submitter, reviewer, council, decider, auditor, operator.")
]


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Tên đăng nhập: a–z, 0–9, . _ - (3–64 ký tự).")],
    full_name: Annotated[str, typer.Option(help="Họ và tên, ví dụ 'Nguyễn Thị Lan'.")],
    org_unit: Annotated[str, typer.Option(help="Mã đơn vị (15, 02683, DN-BATXAT, VN) hoặc đường dẫn (VN/15/02683).")],
    roles: Roles,
    email: Annotated[str | None, typer.Option(help="Thư điện tử.")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Đọc mật khẩu từ stdin (mặc định: mật khẩu tạm).")] = False,
) -> None:
    """Tạo tài khoản; in mật khẩu tạm (đổi khi đăng nhập lần đầu) / add an account and print its temporary password."""
    from services.web.accounts.users import NewUser, parse_roles

    password = typer.get_text_stream("stdin").readline().rstrip("\n") if password_stdin else None
    with _accounts() as accounts:
        unit = accounts.resolve([org_unit]).get(org_unit.strip())
        if unit is None:
            console.print(f"[red]Không có đơn vị '{org_unit}'[/] / no org unit '{org_unit}' (mã tỉnh, xã, đơn vị)")
            raise typer.Exit(2)
        user, secret = accounts.users.add(NewUser(username, full_name, unit[0], parse_roles(roles), email), password)
    console.print(
        f"Đã tạo / created [bold]{user.username}[/] — {user.full_name}, {unit[1]} ({user.org_unit_path}), "
        f"{', '.join(user.roles)}"
    )
    if password is None:
        console.print(
            f"Mật khẩu tạm / temporary password: [bold]{secret}[/]  (hiển thị một lần; đổi khi đăng nhập "
            "lần đầu / shown once; changed at the first sign-in)"
        )


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json", help="In dạng JSON.")] = False) -> None:
    """Danh sách tài khoản / list accounts."""
    with _accounts() as accounts:
        found = accounts.users.list()
    if as_json:
        keys = ("username", "full_name", "email", "org_unit_path", "roles", "must_change_password", "external_subject")
        rows = [{k: getattr(u, k) for k in keys} | {"active": u.active} for u in found]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("username", "họ và tên", "đơn vị", "vai trò", "trạng thái")
    for user in found:
        state = "hoạt động" if user.active else f"đã khóa {user.disabled_at:%d/%m/%Y}"
        state += " · mật khẩu tạm" if user.must_change_password else ""
        table.add_row(user.username, user.full_name, user.org_unit_path, ", ".join(user.roles), state)
    console.print(table)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Khóa tài khoản (phiên đang mở kết thúc ngay) / disable an account; its sessions end at once."""
    with _accounts() as accounts:
        done = accounts.users.disable(username)
    _done(done, f"Đã khóa / disabled {username}", f"Không có tài khoản đang hoạt động '{username}'")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Mở lại tài khoản đã khóa / enable a disabled account."""
    with _accounts() as accounts:
        done = accounts.users.enable(username)
    _done(done, f"Đã mở lại / enabled {username}", f"Không có tài khoản đã khóa '{username}'")


@users_app.command("reset-password")
def users_reset_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option(help="Đọc mật khẩu mới từ stdin (mặc định: mật khẩu tạm).")] = False,
) -> None:
    """Đặt lại mật khẩu, mở khóa đăng nhập / reset the password (temporary unless given), unlock sign-in."""
    password = typer.get_text_stream("stdin").readline().rstrip("\n") if password_stdin else None
    with _accounts() as accounts:
        if password is None:
            password = accounts.users.reset_password(username)
            console.print(
                f"Mật khẩu tạm của / temporary password of {username}: [bold]{password}[/] (đổi khi đăng "
                "nhập / changed at the next sign-in)"
            )
        else:
            accounts.users.set_password(username, password)
            console.print(f"Đã đặt mật khẩu / password set for {username}")
        accounts.signin.unlock(username, detail="reset-password")


@users_app.command("unlock")
def users_unlock(username: str) -> None:
    """Mở khóa đăng nhập sau nhiều lần sai mật khẩu / end a sign-in lock at once."""
    with _accounts() as accounts:
        accounts.signin.unlock(username, detail="unlock")
    console.print(f"Đã mở khóa đăng nhập / sign-in unlocked for {username}")


@users_app.command("import")
def users_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Tệp .csv (UTF-8) hoặc .xlsx.")],
    passwords_out: Annotated[
        Path | None, typer.Option(help="Ghi tên đăng nhập và mật khẩu tạm vào tệp CSV này (quyền 0600).")
    ] = None,
) -> None:
    """Nhập nhiều tài khoản từ CSV/XLSX; tệp có lỗi thì không nhập gì / import accounts; a file with errors imports
    nothing (bad rows are listed by line)."""
    from services.web.accounts.importer import check_rows, read_rows

    with _accounts() as accounts:
        try:
            rows = read_rows(file)
        except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
            console.print(f"[red]Không đọc được tệp {file}[/] / cannot read {file}: {exc}")
            raise typer.Exit(2) from exc
        plan = check_rows(rows, accounts.resolve, accounts.users.existing)
        if plan.errors:
            for error in plan.errors:
                console.print(f"[red]{error}[/]", highlight=False)
            console.print(
                f"Không nhập tài khoản nào: {len(plan.errors)} lỗi / nothing imported: {len(plan.errors)} error(s)"
            )
            raise typer.Exit(1)
        users, secrets = accounts.users.add_many(plan.users)
    _hand_over([(u.username, s) for u, s in zip(users, secrets, strict=True)], passwords_out)


def _hand_over(pairs: list[tuple[str, str]], out: Path | None) -> None:
    console.print(
        f"Đã nhập {len(pairs)} tài khoản / imported {len(pairs)} accounts (mật khẩu tạm, đổi khi đăng nhập "
        "lần đầu / temporary passwords, changed at the first sign-in)"
    )
    if out is None:
        table = Table("username", "mật khẩu tạm / temporary password")
        for username, secret in pairs:
            table.add_row(username, secret)
        console.print(table)
        return
    import csv
    import os

    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["username", "temporary_password"])
        writer.writerows(pairs)
    console.print(f"Mật khẩu tạm ghi tại / temporary passwords written to {out}")


@users_app.command("signins")
def users_signins(
    username: Annotated[str | None, typer.Argument(help="Chỉ tên đăng nhập này.")] = None,
    limit: Annotated[int, typer.Option(help="Số dòng.")] = 50,
) -> None:
    """Nhật ký đăng nhập (mới nhất trước) / the sign-in log, newest first."""
    with _accounts() as accounts:
        rows = accounts.signin.recent(username, limit)
    table = Table("thời điểm (UTC)", "username", "kết quả", "địa chỉ", "ghi chú")
    for row in rows:
        table.add_row(
            f"{row['at']:%Y-%m-%d %H:%M:%S}",
            str(row["username"]),
            str(row["outcome"]),
            str(row["client_ip"] or ""),
            str(row["detail"] or ""),
        )
    console.print(table)


def _done(done: bool, ok: str, missing: str) -> None:
    if not done:
        console.print(f"[red]{missing}[/]")
        raise typer.Exit(1)
    console.print(ok)


DEMO_PEOPLE = [  # (username, full name, org unit, roles): one per role of thidua demo's year
    ("demo.trunguong", "Vụ Thi đua – Khen thưởng (Trung ương)", "VN", "auditor,operator"),
    ("demo.laocai", "Ban Thi đua – Khen thưởng tỉnh Lào Cai", "VN/15", "reviewer,council,decider,auditor"),
    ("demo.batxat", "Cán bộ văn hóa – xã hội xã Bát Xát", "VN/15/02683", "submitter"),
    ("demo.daison", "Văn phòng UBND xã Đại Sơn", "VN/31/11086", "submitter,reviewer,decider"),
    ("demo.hue", "Sở Nội vụ thành phố Huế", "VN/46", "reviewer,decider"),
    ("demo.kiemtra", "Thanh tra Bộ Nội vụ", "VN", "auditor"),
]


@users_app.command("demo")
def users_demo(
    password_stdin: Annotated[
        bool, typer.Option(help="Một mật khẩu chung đọc từ stdin (mặc định: mật khẩu tạm).")
    ] = False,
) -> None:
    """Tài khoản mẫu cho dữ liệu thidua demo, mỗi vai trò một người / demo accounts, one per role (skips existing)."""
    from services.web.accounts.users import NewUser, parse_roles

    password = typer.get_text_stream("stdin").readline().rstrip("\n") if password_stdin else None
    with _accounts() as accounts:
        taken = set(accounts.users.existing([p[0] for p in DEMO_PEOPLE]))
        new = [NewUser(u, n, path, parse_roles(r)) for u, n, path, r in DEMO_PEOPLE if u not in taken]
        users, secrets = accounts.users.add_many(new, [password] * len(new) if password else None)
    table = Table("username", "đơn vị", "vai trò", "mật khẩu" if password is None else "")
    for user, secret in zip(users, secrets, strict=True):
        table.add_row(user.username, user.org_unit_path, ", ".join(user.roles), secret if password is None else "")
    console.print(table)
    if taken:
        console.print(f"Đã có, bỏ qua / already there, skipped: {', '.join(sorted(taken))}")
    console.print(
        "Đăng nhập tại / sign in at http://127.0.0.1:8000/dang-nhap"
        + (
            "; mật khẩu tạm phải đổi khi đăng nhập lần đầu / temporary passwords are changed at the first sign-in"
            if password is None
            else ""
        )
    )
