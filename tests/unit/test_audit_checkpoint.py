"""Checkpoint statements and signatures (no I/O)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.checkpoints import check_signature, statement
from services.audit.keys import PublicKey, key_id

pytestmark = pytest.mark.unit
KEY = Ed25519PrivateKey.generate()
TRUSTED = [PublicKey(KEY.public_key(), "p46", "node")]


def signed(**overrides):  # type: ignore[no-untyped-def]
    data = {"signer_node": "p46", "head_position": 12, "head_hash": "ab" * 32, "event_count": 12}
    data |= {"algorithm": "Ed25519", "key_id": key_id(KEY.public_key())}
    data["signature"] = base64.b64encode(KEY.sign(statement("p46", 12, "ab" * 32, 12))).decode()
    return data | overrides


def test_statement_is_stable() -> None:
    assert statement("p46", 3, "00" * 32, 3) == b"thidua-checkpoint/v1\np46\n3\n" + b"00" * 32 + b"\n3\n"


def test_valid_checkpoint_verifies() -> None:
    assert check_signature(signed(), TRUSTED) is None


@pytest.mark.parametrize(
    "change", [{"head_position": 13}, {"head_hash": "cd" * 32}, {"event_count": 11}, {"signer_node": "p15"}]
)
def test_any_changed_fact_breaks_the_signature(change: dict) -> None:  # type: ignore[type-arg]
    assert "does not verify" in (check_signature(signed(**change), TRUSTED) or "")


def test_unknown_key_is_refused() -> None:
    other = [PublicKey(Ed25519PrivateKey.generate().public_key(), "p46", "node")]
    assert "not trusted" in (check_signature(signed(), other) or "")
