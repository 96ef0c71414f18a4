"""Install thidua-sync the way a user does and check that it works (CI runs it from ``.ci/run``; ``make wheel-check``).

Builds the wheel from the checkout's files, installs it into a fresh virtualenv outside the checkout, then:
``pip check``; every file the product reads ships in the wheel (the migration revisions among them); ``thidua
--help`` does not import ``bench``; ``thidua --help`` and every subcommand's ``--help`` (walked from the command
tree, not listed here); the installed package knows exactly the checkout's schema revisions; ``thidua db upgrade``
on SQLite, then ``thidua db current`` says the database is at the head (exit 0); the demo into that node (seeds,
reference data); ``thidua serve`` answering ``/healthz``, ``/docs`` and its assets; Ctrl-C stops it. Standard
library only; pip's cache makes repeated runs quick.

    python3 infra/wheel_check.py [--keep]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("services", "projections", "bench")  # what pyproject.toml ships
SCHEMAS_IN_WHEEL = "services/kernel/avro_schemas"  # where setup.py puts schemas/
NOT_SHIPPED = {"bench/quick.sh"}  # `make bench-quick` from a checkout; nothing installed reads it
MIGRATIONS = "services/migrations/versions"  # the schema revisions (Alembic), one file each
REVISIONS = """
import json
from services import migrations
print(json.dumps([revision.id for revision in migrations.history()]))
"""
COMMANDS = """
import json, typer
from services.cli.main import app
def walk(command, path):
    yield path
    for name in getattr(command, "list_commands", lambda ctx: [])(None):
        yield from walk(command.get_command(None, name), [*path, name])
print(json.dumps(list(walk(typer.main.get_command(app), []))))
"""
NO_BENCH = """
import sys
from typer.testing import CliRunner
from services.cli.main import app
assert CliRunner().invoke(app, ["--help"]).exit_code == 0
loaded = sorted(m for m in sys.modules if m == "bench" or m.startswith("bench."))
assert not loaded, f"thidua --help imported {loaded}"
"""


def say(message: str) -> None:
    print(f"wheel-check: {message}", flush=True)


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure print what it said and stop."""
    done = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        say(f"FAILED ({done.returncode}): {' '.join(args)}\n{done.stdout}\n{done.stderr}")
        raise SystemExit(1)
    return done


def source_files() -> list[str]:
    """The checkout's files as they would be committed (tracked, or new and not ignored)."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT).stdout.splitlines()
    return [name for name in listed if (ROOT / name).is_file()]


def build_wheel(work: Path, python: Path, files: list[str]) -> Path:
    """A wheel built from a copy of ``files`` (never from stale build/ folders of the checkout)."""
    src = work / "src"
    for name in files:
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    run([str(python), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"), str(src)])
    return next((work / "dist").glob("thidua_sync-*.whl"))


def check_contents(wheel: Path, files: list[str]) -> None:
    """Every file of the packages (and every Avro contract) is in the wheel; no tests are."""
    inside = set(zipfile.ZipFile(wheel).namelist())
    wanted = {name for name in files if name.split("/")[0] in PACKAGES and name not in NOT_SHIPPED}
    wanted |= {f"{SCHEMAS_IN_WHEEL}/{name[len('schemas/') :]}" for name in files if name.startswith("schemas/")}
    missing = sorted(wanted - inside)
    if missing:
        say(f"FAILED: {len(missing)} files of the product are not in the wheel: {missing[:10]}")
        raise SystemExit(1)
    if any(name.startswith("tests/") for name in inside):
        say("FAILED: the wheel contains tests/")
        raise SystemExit(1)
    say(f"wheel {wheel.name}: {len(inside)} files, all {len(wanted)} product files present")


def checkout_revisions(files: list[str]) -> list[str]:
    """The revision ids of the checkout's migration files (``revision: str = "0002"``), in file order (numbered)."""
    found = []
    for name in sorted(f for f in files if f.startswith(f"{MIGRATIONS}/") and f.endswith(".py")):
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            if line.startswith("revision"):
                found.append(line.split("=", 1)[1].strip().strip("\"'"))
    return found


def check_database(python: Path, thidua: Path, env: dict[str, str], cwd: Path, files: list[str]) -> None:
    """The installed package runs every revision of the checkout: ``db upgrade`` then ``db current`` at the head."""
    installed = json.loads(run([str(python), "-c", REVISIONS], cwd=cwd, env=env).stdout)
    expected = checkout_revisions(files)
    if installed != expected or not expected:
        say(f"FAILED: the installed package's schema revisions {installed} are not the checkout's {expected}")
        raise SystemExit(1)
    run([str(thidua), "db", "upgrade"], cwd=cwd, env=env)
    current = run([str(thidua), "db", "current"], cwd=cwd, env=env).stdout  # exit 0 only at the code's revision
    head = expected[-1]
    if f"revision {head} (code {head})" not in current:
        say(f"FAILED: after thidua db upgrade, thidua db current says\n{current}")
        raise SystemExit(1)
    say(f"revisions {', '.join(installed)} shipped; thidua db upgrade, then thidua db current: at {head}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a local URL of the node started here
        return response.status, response.read()


def check_serve(thidua: Path, env: dict[str, str], cwd: Path) -> None:
    """``thidua serve`` answers /healthz, /docs and its assets; SIGINT (Ctrl-C) stops it with exit 0."""
    port = free_port()
    log = (cwd / "serve.log").open("w")
    proc = subprocess.Popen([str(thidua), "serve", "--port", str(port)], env=env, cwd=cwd, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = get(f"{base}/healthz")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    say(f"FAILED: thidua serve did not answer\n{(cwd / 'serve.log').read_text()}")
                    raise SystemExit(1) from None
                time.sleep(0.3)
        assert status == 200 and json.loads(body)["status"] == "ok", body
        for path in (
            "/docs",
            "/redoc",
            "/docs-assets/swagger-ui/swagger-ui-bundle.js",
            "/docs-assets/redoc/redoc.standalone.js",
            "/openapi.json",
            "/metrics",
        ):
            assert get(f"{base}{path}")[0] == 200, path
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        log.close()
    if code != 0:
        say(f"FAILED: thidua serve exited {code} on SIGINT\n{(cwd / 'serve.log').read_text()}")
        raise SystemExit(1)
    say(f"thidua serve answered /healthz, /docs, /redoc and their assets on {base}; Ctrl-C stopped it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder (printed).")
    keep = parser.parse_args().keep
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="thidua-wheel-check-"))
    try:
        venv = work / "venv"
        run([sys.executable, "-m", "venv", str(venv)])
        python, thidua = venv / "bin" / "python", venv / "bin" / "thidua"
        files = source_files()
        wheel = build_wheel(work, python, files)
        check_contents(wheel, files)
        run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=work)
        run([str(python), "-m", "pip", "check"], cwd=work)
        say(
            f"installed into a fresh virtualenv ({time.monotonic() - started:.0f} s); pip check: no broken requirements"
        )

        node = work / "node"
        node.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
        env |= {"THIDUA_DATA_DIR": str(node / "var"), "COLUMNS": "120"}
        run([str(python), "-c", NO_BENCH], cwd=node, env=env)
        paths = json.loads(run([str(python), "-c", COMMANDS], cwd=node, env=env).stdout)

        def helps(path: list[str]) -> list[str]:
            shown = run([str(thidua), *path, "--help"], cwd=node, env=env).stdout
            assert "Usage:" in shown, (path, shown)
            return path

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(helps, paths))
        say(f"thidua --help and the --help of all {len(paths) - 1} subcommands answer")

        check_database(python, thidua, env, node, files)
        run([str(thidua), "demo", "--into-node"], cwd=node, env=env)
        say("thidua demo --into-node on SQLite: done")
        check_serve(thidua, env, node)
        say(f"OK in {time.monotonic() - started:.0f} s")
    finally:
        if keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
