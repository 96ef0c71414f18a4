"""The AsyncAPI 3.0 document of the Kafka topics: docs/asyncapi.yaml is what
``thidua topics asyncapi`` generates from schemas/ and the topic list, it names every topic and event type, its Avro
schemas are the contracts themselves, and the official AsyncAPI parser (@asyncapi/parser, installed by npm ci from
infra/asyncapi/package-lock.json) validates it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastavro.schema import to_parsing_canonical_form

from services.kernel.schemas import SchemaCatalog, fingerprint
from services.pipeline.asyncapi import render
from services.pipeline.topics import CONTEXT_OF_EVENT, Topics
from tests.services import missing

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "asyncapi.yaml"
VALIDATOR = ROOT / "infra" / "asyncapi"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_the_committed_document_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(SchemaCatalog.load()), (
        "docs/asyncapi.yaml is stale: regenerate it with `thidua topics asyncapi > docs/asyncapi.yaml`"
    )


def test_every_topic_and_event_type_has_its_channel_and_message(document: dict[str, Any]) -> None:
    topics = Topics("p46")
    addresses = {
        c["address"].replace("{nodeId}", "p46").replace("{target}", "central") for c in document["channels"].values()
    }
    assert addresses == {*topics.events, topics.dead_letters, topics.schemas, topics.sync_to("central")}
    catalog = SchemaCatalog.load()
    for version in catalog.events():
        channel = document["channels"][CONTEXT_OF_EVENT[version.name]]
        assert channel["messages"][version.name] == {"$ref": f"#/components/messages/{version.name}"}
        assert version.name in document["channels"]["sync"]["messages"]
    assert document["asyncapi"].startswith("3.")
    assert {o["channel"]["$ref"] for o in document["operations"].values()} == {
        f"#/channels/{c}" for c in document["channels"]
    }


def test_the_avro_schemas_in_the_document_are_the_contracts(document: dict[str, Any]) -> None:
    catalog = SchemaCatalog.load()
    for version in catalog.events():
        message = document["components"]["messages"][version.name]
        assert message["payload"]["schemaFormat"].startswith("application/vnd.apache.avro+json")
        shown = to_parsing_canonical_form(message["payload"]["schema"])
        assert fingerprint(shown) == version.fingerprint, version.name  # the same schema, names split or not
        assert message["headers"] == {"$ref": "#/components/schemas/CloudEventHeaders"}
        assert "kafka" in message["bindings"] and message["bindings"]["kafka"]["key"]["type"] == "string"


def test_the_asyncapi_parser_validates_the_document(tmp_path: Path) -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing("Node.js and npm", "apt-get install nodejs npm; infra/ci-install.sh does")
    if not (VALIDATOR / "node_modules" / "@asyncapi" / "parser").is_dir():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=VALIDATOR,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    broken = tmp_path / "broken.yaml"
    broken.write_text(COMMITTED.read_text(encoding="utf-8").replace("action: send", "action: shout", 1))
    checks = [
        subprocess.run(
            [node, str(VALIDATOR / "validate.mjs"), str(path)], capture_output=True, text=True, timeout=120, check=False
        )
        for path in (COMMITTED, broken)
    ]
    assert checks[0].returncode == 0, checks[0].stdout[-5000:] + checks[0].stderr[-2000:]
    assert "0 errors" in checks[0].stdout
    assert checks[1].returncode == 1 and "error" in checks[1].stdout  # the parser does refuse a broken document
