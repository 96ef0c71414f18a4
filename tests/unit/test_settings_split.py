"""Settings per process: a shared base and one class per entry point, the same THIDUA_* names everywhere, and each
entry point building its own class (a broken setting of another process does not stop it)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from services.cli.main import app
from services.kernel import settings as module
from services.kernel.settings import (
    ApiSettings,
    AuditSettings,
    NodeSettings,
    RelaySettings,
    Settings,
    SyncSettings,
    TopicSettings,
    WorkerSettings,
)

pytestmark = pytest.mark.unit
PARTS = [NodeSettings, TopicSettings, AuditSettings, ApiSettings, RelaySettings, WorkerSettings, SyncSettings]


def test_every_setting_is_declared_once_and_settings_holds_them_all() -> None:
    declared = [name for part in PARTS for name in part.__annotations__ if name != "model_config"]
    assert len(declared) == len(set(declared)), sorted(n for n in declared if declared.count(n) > 1)
    assert set(declared) == set(Settings.model_fields)
    assert all(issubclass(Settings, part) for part in PARTS)


def test_a_process_does_not_hold_another_process_settings() -> None:
    api, relay, worker, sync = (set(c.model_fields) for c in (ApiSettings, RelaySettings, WorkerSettings, SyncSettings))
    assert not any(name.startswith(("api_", "web_", "webhook")) for name in relay | worker | sync)
    assert not any(name.startswith(("relay_", "worker_batch", "sync_batch")) for name in api)
    assert "kafka_topic_partitions" not in api | relay | worker and "kafka_topic_partitions" in sync
    assert {"audit_checkpoint_every", "audit_witnesses"} <= api & relay & sync


def test_the_variable_names_are_the_same_in_every_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THIDUA_NODE_ID", "p46")
    monkeypatch.setenv("THIDUA_RELAY_BATCH_SIZE", "7")
    monkeypatch.setenv("THIDUA_API_MAX_BODY_BYTES", "9")
    assert {c().node_id for c in PARTS} == {"p46"}
    assert RelaySettings().relay_batch_size == Settings().relay_batch_size == 7
    assert ApiSettings().api_max_body_bytes == Settings().api_max_body_bytes == 9


def test_a_broken_setting_of_another_process_does_not_stop_this_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THIDUA_WEB_SESSION_IDLE_MINUTES", "soon")
    assert RelaySettings().relay_batch_size == 1000
    with pytest.raises(ValidationError) as raised:
        ApiSettings()
    assert raised.value.title == "Settings"  # what the CLI's two lines recognise (services.cli.errors)


class Built(Exception):
    """Raised by the stand-ins below with the settings an entry point built."""


def _capture(*args: Any, **_kwargs: Any) -> None:
    raise Built(next(a for a in args if isinstance(a, NodeSettings)))


@pytest.mark.parametrize(
    ("argv", "target", "expected"),
    [
        (["relay"], "services.pipeline.relay.run_relay", RelaySettings),
        (["worker"], "services.pipeline.worker.run_worker", WorkerSettings),
        (["sync"], "services.sync.service.run_sync", SyncSettings),
        (["serve", "--port", "0"], "services.bootstrap.bootstrap", ApiSettings),
    ],
)
def test_each_entry_point_builds_its_own_settings(
    argv: list[str], target: str, expected: type[NodeSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THIDUA_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setattr("services.pipeline.logs.configure", lambda *a, **k: None)
    monkeypatch.setattr(target, _capture)
    result = CliRunner().invoke(app, argv)
    assert isinstance(result.exception, Built), result.output
    (built,) = result.exception.args
    assert type(built) is expected and type(built) is not Settings


def test_the_module_reads_no_environment_itself() -> None:
    assert not any(isinstance(value, NodeSettings) for value in vars(module).values())  # no module-level Settings()
