"""Interop proof: Apache Avro Java (Maven Central) reads what our codec writes, and the other way round."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastavro.utils import generate_many

from services.kernel.codec import AvroCodec
from tests.services import unavailable

pytestmark = [pytest.mark.contract, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

HUE = {"code": "46", "path": "VN/46", "level": "PROVINCE", "name": "Thành phố Huế"}
META = {
    "event_id": "0b6f2f0e-5d1c-4c55-9d43-1f0d2f6f8a11",
    "stream_id": "plan-46-220-2026",
    "stream_version": 1,
    "occurred_at": datetime(2026, 4, 15, 2, 0, tzinfo=UTC),
    "recorded_at": datetime(2026, 4, 15, 2, 0, 1, 123456, tzinfo=UTC),
    "node_id": "p46",
    "org_unit": HUE,
    "actor": {
        "actor_id": "lgsp-hue",
        "kind": "CLIENT",
        "display_name": "LGSP Huế",
        "org_unit_path": "VN/46",
        "roles": ["submitter"],
    },
    "correlation_id": None,
    "causation_id": None,
}
PLAN_220 = {
    "meta": META,
    "plan_id": "plan-46-220-2026",
    "issuer": HUE,
    "document_number": "220",
    "document_symbol": "KH-UBND",
    "issue_date": date(2026, 4, 15),
    "title": "Triển khai Phong trào thi đua “Đổi mới sáng tạo, phát triển khoa học, công nghệ, chuyển đổi số, "
    "chuyển đổi xanh” trên địa bàn thành phố Huế",
    "signer_name": None,
    "signer_capacity": "KT. CHỦ TỊCH – PHÓ CHỦ TỊCH",
    "implements": ["462/QĐ-TTg"],
    "phases": [
        {
            "code": "P1",
            "name": "Giai đoạn 2026–2027",
            "start_date": date(2026, 4, 15),
            "end_date": date(2027, 12, 31),
            "review": "SO_KET",
            "date_precision": "YEAR",
            "review_from": date(2027, 1, 1),
            "review_to": date(2027, 12, 31),
            "review_period": "2027",
            "review_text": "tiến hành sơ kết, đánh giá, rút kinh nghiệm vào năm 2027",
            "review_with": None,
            "review_follows": None,
        }
    ],
    "content_areas": [{"code": "II.1", "title": "Thi đua đổi mới sáng tạo, chuyển đổi số"}],
    "reporting_duties": [
        {
            "code": "R1",
            "who": "Các cơ quan, địa phương, đơn vị",
            "reporter_levels": ["UNIT", "COMMUNE"],
            "reporter_under": "VN/46",
            "reporter_kinds": ["AGENCY", "LOCALITY"],
            "reporter_name": None,
            "to": ["Sở Khoa học và Công nghệ", "Sở Nội vụ"],
            "via": None,
            "period": "ANNUAL",
            "deadline_kind": "NONE_STATED",
            "deadline_month": None,
            "deadline_day": None,
            "deadline_date": None,
            "text": "Định kỳ hằng năm báo cáo kết quả về Sở Khoa học và Công nghệ, Sở Nội vụ",
            "reporter_direct": True,
            "reporter_member_of": None,
            "reporter_agency": None,
            "receiver_agencies": ["SO_KHCN", "SO_NOI_VU"],
        }
    ],
    "award_forms": [{"occasion": "SO_KET", "form_code": "BK_TTG", "text": "Bằng khen của Thủ tướng Chính phủ"}],
    "criteria_owners": ["Sở Khoa học và Công nghệ"],
    "plan_deadline": date(2026, 6, 30),
    "warnings": [
        {
            "code": "SEED_NUMBER_SPACING",
            "message_vi": "Số văn bản có khoảng trắng thừa",
            "message_en": "Spacing",
            "source_text": "Số: 220 /KH-UBND",
            "refs": [],
        }
    ],
    "period": {
        "start_date": date(2026, 1, 1),
        "end_date": date(2030, 12, 31),
        "date_precision": "YEAR",
        "source_text": "từ năm 2026 đến năm 2030",
    },
    "issuer_name": "Ủy ban nhân dân thành phố Huế",
    "references": [
        {
            "kind": "DOCUMENT",
            "ref": "244/KH-UBND",
            "date": date(2025, 5, 28),
            "issuer": "Ủy ban nhân dân thành phố Huế",
            "title": None,
            "relation": "CAN_CU",
            "plan_id": None,
            "duplicate": False,
            "source_text": "Kế hoạch số 244/KH-UBND ngày 28/5/2025",
        }
    ],
}


@pytest.fixture(scope="module")
def java(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A function running the Avro Java interop CLI."""
    if not (shutil.which("java") and shutil.which("mvn")):
        unavailable("Java 17 + Maven (for the Avro Java interop test)")
    build_sh = str(ROOT / "infra/avro-java/build.sh")
    build = subprocess.run(["bash", build_sh], capture_output=True, text=True, check=False)
    if build.returncode != 0:
        pytest.fail(f"building infra/avro-java failed:\n{build.stderr[-2000:]}")
    classpath = build.stdout.strip().splitlines()[-1]

    def run(*args: str) -> str:
        done = subprocess.run(
            ["java", "-cp", classpath, "vn.thidua.interop.AvroInterop", *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run.tmp = tmp_path_factory.mktemp("avro-java")  # type: ignore[attr-defined]
    return run


def plain(value: Any) -> Any:
    """A datum as plain JSON with logical types as their Avro values (micros, days)."""
    if isinstance(value, datetime):
        delta = value - EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, date):
        return (value - date(1970, 1, 1)).days
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _schema_file(java, codec: AvroCodec, name: str) -> Path:  # type: ignore[no-untyped-def]
    path = java.tmp / f"{name}.avsc"
    path.write_text(codec.catalog.event(name).to_json(), encoding="utf-8")
    return path


def test_fingerprints_agree_for_every_event(java, codec: AvroCodec) -> None:  # type: ignore[no-untyped-def]
    for version in codec.catalog.events():
        line = java("fingerprint", "--schema", str(_schema_file(java, codec, version.name))).splitlines()[0]
        assert line == version.fingerprint.hex(), version.name


def test_java_decodes_what_python_wrote(java, codec: AvroCodec) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(20260322)
    cases = [("PlanIssued", PLAN_220)]
    for version in codec.catalog.events():
        random.seed(rng.random())  # fastavro's generator draws from the random module
        cases += [(version.name, datum) for datum in generate_many(version.parsed, 2)]
    schemas = [arg for v in codec.catalog.events() for arg in ("--schema", str(_schema_file(java, codec, v.name)))]
    for i, (name, datum) in enumerate(cases):
        message = java.tmp / f"py-{i}.bin"
        message.write_bytes(codec.encode(f"vn.thidua.events.{name}", datum))
        printed = json.loads(java("decode", *schemas, "--in", str(message)))
        assert printed == plain(codec.decode(message.read_bytes()).datum), name


def test_python_decodes_what_java_wrote(java, codec: AvroCodec) -> None:  # type: ignore[no-untyped-def]
    source = java.tmp / "plan.json"
    source.write_text(json.dumps(plain(PLAN_220), ensure_ascii=False), encoding="utf-8")
    out = java.tmp / "java.bin"
    java(
        "encode",
        "--plain-json",
        "--schema",
        str(_schema_file(java, codec, "PlanIssued")),
        "--json",
        str(source),
        "--out",
        str(out),
    )
    data = out.read_bytes()
    assert data == codec.encode("vn.thidua.events.PlanIssued", PLAN_220)  # byte-identical encodings
    decoded = codec.decode(data)
    assert decoded.name == "PlanIssued" and decoded.datum == PLAN_220
