"""docker-compose.yml cannot be run here (no Docker engine): check what can be checked without one."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import typer
import yaml
from typer.core import TyperGroup

from services.cli.main import app
from services.kernel.settings import Settings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_kafka_image_is_the_version_ci_tests(compose: dict) -> None:  # type: ignore[type-arg]
    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", (ROOT / "infra/kafka/pom.xml").read_text())
    assert pinned and compose["services"]["kafka"]["image"] == f"apache/kafka:{pinned.group(1)}"


def test_services_are_consistent(compose: dict) -> None:  # type: ignore[type-arg]
    services = compose["services"]
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        assert "healthcheck" in service or "build" in service, f"{name} has no health check"
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        if "build" in service:
            assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    env = services["api"]["environment"]
    assert env["THIDUA_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092" and "@postgres:5432/" in env["THIDUA_DATABASE_URL"]


def test_dockerfile_installs_the_built_wheel() -> None:
    """The image is built like a user's install: a wheel from the source, then only that wheel installed."""
    dockerfile = (ROOT / "infra/docker/Dockerfile").read_text(encoding="utf-8")
    _, build, final = re.split(r"^FROM ", dockerfile, flags=re.M)
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    folders = [pattern.rstrip("*") for pattern in packages["find"]["include"]]
    assert "services" in folders
    for folder in ("schemas", *folders):  # schemas/: setup.py puts the contracts inside the wheel
        assert f"COPY {folder} ./{folder}" in build, folder
    assert "COPY pyproject.toml setup.py README.md ./" in build and "pip wheel" in build and " AS build" in build
    assert "COPY --from=build /wheels /wheels" in final and "pip install /wheels/thidua_sync-*.whl" in final
    assert "-e ." not in dockerfile and "COPY services" not in final  # no source tree in the image
    assert "HEALTHCHECK" in final and "/healthz" in final
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", final, re.M).group(1))  # type: ignore[union-attr]
    parse_thidua(cmd)


def thidua_commands(command: list[str] | str) -> list[list[str]]:
    """The ``thidua`` invocations of a compose ``command`` (a list, or ``sh -c "a && b > /dev/null"``)."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv[:2] != ["sh", "-c"]:
        return [argv]
    found = []
    for part in re.split(r"&&|\|\||;|\|", argv[2]):
        words = shlex.split(re.sub(r"\d*>\s*\S+", "", part))
        if words:
            found.append(words)
    return found


def parse_thidua(argv: list[str]) -> None:
    """Parse ``argv`` as the installed ``thidua`` would, down to the command that would run, without running it:
    an unknown command or option raises."""
    assert argv[0] == "thidua", argv
    group = typer.main.get_command(app)
    ctx = group.make_context("thidua", list(argv[1:]))
    while isinstance(ctx.command, TyperGroup) and (rest := [*ctx._protected_args, *ctx.args]):
        name, command, args = ctx.command.resolve_command(ctx, rest)
        assert command is not None, argv
        ctx = command.make_context(name, args, parent=ctx)
    assert not isinstance(ctx.command, TyperGroup) or ctx.command.invoke_without_command, f"{argv}: no command"


def test_every_service_runs_a_real_thidua_command_with_options_that_exist(compose: dict) -> None:  # type: ignore[type-arg]
    ran = []
    for service in compose["services"].values():
        if "build" not in service:  # kafka, postgres: upstream images
            continue
        for argv in thidua_commands(service["command"]):
            parse_thidua(argv)
            ran.append(" ".join(argv[:3]))
    assert len(ran) >= 6, ran  # init (3 commands), api, relay, worker, sync


@pytest.mark.parametrize(
    "argv",
    [
        ["thidua", "serve", "--no-such-option"],
        ["thidua", "no-such-command"],
        ["thidua", "db", "nope"],
        ["thidua", "serve", "--port", "not-a-number"],
    ],
)
def test_the_command_check_refuses_what_thidua_would_refuse(argv: list[str]) -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 - click's usage errors, whichever click typer vendors
        parse_thidua(argv)


def test_every_thidua_variable_of_every_service_is_a_setting(compose: dict) -> None:  # type: ignore[type-arg]
    fields = {f"THIDUA_{name.upper()}" for name in Settings.model_fields}
    used = {key for service in compose["services"].values() for key in service.get("environment", {})}
    thidua = {key for key in used if key.startswith("THIDUA_")}
    assert thidua and thidua <= fields, sorted(thidua - fields)


def test_every_process_that_checkpoints_signs_with_the_one_node_key(compose: dict) -> None:  # type: ignore[type-arg]
    services = compose["services"]
    key = services["api"]["environment"]["THIDUA_AUDIT_SIGNING_KEY_FILE"]
    for name in ("init", "api", "relay", "sync"):  # init creates it; serve, the relay and sync seal and sign
        assert services[name]["environment"]["THIDUA_AUDIT_SIGNING_KEY_FILE"] == key, name
        mounts = {m.split(":")[1]: m.split(":")[0] for m in services[name].get("volumes", [])}
        assert mounts.get(str(Path(key).parent)) in compose["volumes"], f"{name} does not share the key volume"
    assert "thidua audit keys" in " ".join(services["init"]["command"])
