"""The access layer without I/O: secrets, keys and tokens, the subtree and role rules, quotas."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.api.problems import status_of
from services.api.security.clients import hash_secret, verify_secret
from services.api.security.errors import Unauthenticated, WouldBlock
from services.api.security.keys import KeyRing, SigningKey, thumbprint
from services.api.security.ratelimit import RateLimiter
from services.api.security.scopes import Principal, require_role, require_sees, require_within
from services.api.security.tokens import TokenIssuer, VerifiedTokens
from services.kernel.errors import DomainRefusal, InvalidOrgPath
from services.kernel.orgpaths import OrgPath

pytestmark = pytest.mark.unit


def issuer(tmp_path: Path, node: str = "p31", **overrides: Any) -> TokenIssuer:
    fields: dict[str, Any] = {
        "keyring": KeyRing(None, tmp_path),
        "node_id": node,
        "issuer": f"thidua:{node}",
        "audience": "thidua-sync",
        "ttl_seconds": 900,
    }
    return TokenIssuer(**(fields | overrides))


def test_secrets_are_salted_scrypt_hashes() -> None:
    first, second = hash_secret("SecretKey-1"), hash_secret("SecretKey-1")
    assert first != second and first.startswith("scrypt$16384$8$1$") and "SecretKey" not in first
    assert verify_secret("SecretKey-1", first) and verify_secret("SecretKey-1", second)
    assert not verify_secret("SecretKey-2", first)
    assert not verify_secret("SecretKey-1", "plain$text") and not verify_secret("x", "scrypt$a$b$c$d$e")


def test_the_dev_key_is_generated_once_private_to_its_owner(tmp_path: Path) -> None:
    key = KeyRing(None, tmp_path).key
    path = tmp_path / "api-dev-signing-key.pem"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and key.algorithm == "EdDSA"
    assert KeyRing(None, tmp_path).key.kid == key.kid  # reloaded, not regenerated
    (jwk,) = KeyRing(None, tmp_path).jwks()["keys"]
    assert jwk["kid"] == key.kid and jwk["use"] == "sig" and "d" not in jwk


def test_a_deployment_rsa_key_signs_rs256(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "key.pem").write_bytes(pem)
    tokens = issuer(tmp_path, keyring=KeyRing(tmp_path / "key.pem", None))
    assert tokens.keyring.key.algorithm == "RS256"
    principal, own = tokens.verify(tokens.mint("c-1", "VN/15", ["decider"]))
    assert own and principal.path == "VN/15" and principal.roles == {"decider"}
    assert not (tmp_path / "api-dev-signing-key.pem").exists()


def test_thumbprint_follows_rfc_7638() -> None:
    jwk = {  # RFC 7638 §3.1
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjB"
            "ZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8"
            "KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_"
            "xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_a_token_names_the_callers_unit_roles_and_node(tmp_path: Path) -> None:
    tokens = issuer(tmp_path)
    token = tokens.mint("c-ds", "VN/31/11086", ["decider", "reviewer", "sysadmin"], "UBND xã Đại Sơn")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["org_unit"], claims["node"], claims["aud"]) == (
        "c-ds",
        "VN/31/11086",
        "p31",
        "thidua-sync",
    )
    assert claims["exp"] - claims["iat"] == 900 and jwt.get_unverified_header(token)["alg"] == "EdDSA"
    principal, own = tokens.verify(token)
    assert own and principal.roles == {"decider", "reviewer"}  # unknown roles carry no rights
    assert principal.actor() == {
        "actor_id": "c-ds",
        "kind": "CLIENT",
        "display_name": "UBND xã Đại Sơn",
        "org_unit_path": "VN/31/11086",
        "roles": ["decider", "reviewer"],
    }


def _code(action: Any) -> str:
    with pytest.raises((Unauthenticated, DomainRefusal)) as caught:
        action()
    return str(caught.value.code)


def test_bad_tokens_are_401_and_other_nodes_tokens_403(tmp_path: Path) -> None:
    tokens = issuer(tmp_path)
    past = datetime.now(UTC) - timedelta(hours=1)
    assert _code(lambda: tokens.verify(tokens.mint("c", "VN", ["auditor"], now=past))) == "TOKEN_EXPIRED"
    assert _code(lambda: tokens.verify("not-a-token")) == "INVALID_TOKEN"
    header, payload, signature = tokens.mint("c", "VN/15", ["auditor"]).split(".")
    claims = jwt.decode(f"{header}.{payload}.{signature}", options={"verify_signature": False})
    forged = jwt.encode(
        {**claims, "org_unit": "VN"}, "k" * 32, algorithm="HS256", headers={"kid": tokens.keyring.key.kid}
    )
    assert _code(lambda: tokens.verify(forged)) == "INVALID_TOKEN"  # HS256 with the kid of the node's key
    stranger = issuer(tmp_path / "other")
    assert _code(lambda: tokens.verify(stranger.mint("c", "VN", ["auditor"]))) == "INVALID_TOKEN"
    other_node = issuer(tmp_path, node="p15", issuer="thidua:p31")
    assert _code(lambda: tokens.verify(other_node.mint("c", "VN", ["auditor"]))) == "WRONG_NODE"
    wrong_audience = issuer(tmp_path, audience="someone-else")
    assert _code(lambda: tokens.verify(wrong_audience.mint("c", "VN", ["auditor"]))) == "INVALID_TOKEN"
    bad_unit = tokens.mint("c", "Hải Phòng", ["auditor"])
    assert _code(lambda: tokens.verify(bad_unit)) == "INVALID_TOKEN"


class FakeJwks:
    """What PyJWKClient offers, for a key held in memory."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key

    def get_signing_key_from_jwt(self, token: str) -> Any:
        return type("Found", (), {"key": self.key.public})()


def test_an_external_issuers_tokens_are_accepted_through_its_jwks(tmp_path: Path) -> None:
    province_idp = issuer(tmp_path / "idp", issuer="https://sso.laocai.gov.vn", node="p31")
    external = province_idp.mint("lgsp-lao-cai", "VN/15", ["submitter"])
    tokens = issuer(
        tmp_path, trusted_jwks=FakeJwks(province_idp.keyring.key), trusted_issuer="https://sso.laocai.gov.vn"
    )
    principal, own = tokens.verify(external)
    assert not own and principal.client_id == "lgsp-lao-cai" and principal.path == "VN/15"
    assert _code(lambda: issuer(tmp_path).verify(external)) == "INVALID_TOKEN"  # not trusted without the JWKS


def _decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens whose signature and claims ``jwt.decode`` checks from now on."""
    seen: list[str] = []
    decode = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


def test_a_verified_token_is_kept_until_its_expiry_and_no_other_token_is_taken_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [datetime.now(UTC).timestamp()]
    tokens = issuer(tmp_path, verified=VerifiedTokens(max_seconds=3600, clock=lambda: now[0]))
    token = tokens.mint("c-ds", "VN/31/11086", ["submitter"], "UBND xã Đại Sơn")
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    with pytest.raises(WouldBlock):  # the first check needs the key: not on the event loop
        tokens.verify(token, blocking=False)
    seen = _decodes(monkeypatch)
    first = tokens.verify(token)
    assert tokens.verify(token) == tokens.verify(token, blocking=False) == first and seen == [token]  # once
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    assert _code(lambda: tokens.verify(tampered)) == "INVALID_TOKEN" and len(tokens.verified) == 1  # never kept
    now[0] = exp - 1
    assert tokens.verify(token) == first and seen.count(token) == 1
    now[0] = exp  # the token's expiry ends its entry: the next check is a full one (within PyJWT's leeway)
    with pytest.raises(WouldBlock):
        tokens.verify(token, blocking=False)
    tokens.verify(token)
    assert seen.count(token) == 2


def test_verified_tokens_are_kept_at_most_a_few_minutes_and_bounded_in_number(tmp_path: Path) -> None:
    now = [1_000.0]
    kept = VerifiedTokens(max_tokens=3, max_seconds=300, clock=lambda: now[0])
    principal = Principal("c", OrgPath("VN/15"), frozenset({"auditor"}), "p15")
    kept.put("t-1", principal, True, expires=1_000_000.0)  # a long-lived (external) token: 5 minutes at most
    kept.put("t-expired", principal, True, expires=999.0)  # never kept
    assert kept.get("t-1") == (principal, True) and kept.get("t-expired") is None
    now[0] = 1_300.0
    assert kept.get("t-1") is None
    kept.put("t-2", principal, False, expires=2_000.0)
    kept.put("t-3", principal, True, expires=1_400.0)
    kept.put("t-4", principal, True, expires=2_000.0)  # full: the expired t-1 goes first
    assert len(kept) == 3 and kept.get("t-2") == (principal, False)
    kept.put("t-5", principal, True, expires=2_000.0)  # full, none expired: the oldest goes
    assert len(kept) == 3 and kept.get("t-2") is None and kept.get("t-5") == (principal, True)


def test_subtree_and_role_rules_say_which_rule_refused(tmp_path: Path) -> None:
    dai_son = Principal("c", OrgPath("VN/31/11086"), frozenset({"submitter"}), "p31")
    require_within(dai_son, "VN/31/11086/THCS-DS")
    require_sees(dai_son, "VN/31")  # the plans above it
    with pytest.raises(DomainRefusal) as outside:
        require_within(dai_son, "VN/15/02683")
    assert (outside.value.code, status_of(outside.value), outside.value.details["rule"]) == (
        "OUT_OF_SUBTREE",
        403,
        "SUBTREE",
    )
    assert outside.value.message_vi.startswith("Đơn vị VN/31/11086 chỉ được thao tác trong phạm vi")
    with pytest.raises(DomainRefusal):
        require_sees(dai_son, "VN/31/11099")  # a neighbour is not above it
    with pytest.raises(InvalidOrgPath):
        require_within(dai_son, "VN/31/11086/not a code")
    with pytest.raises(DomainRefusal) as role:
        require_role(dai_son, frozenset({"decider"}), "decide award")
    assert role.value.code == "ROLE_NOT_ALLOWED" and role.value.message_vi.startswith(
        "Quy tắc: thao tác 'decide award'"
    )
    assert not dai_son.covers("VN/31/110860")  # a prefix is not a subtree


def test_the_token_bucket_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=3, clock=lambda: now[0])
    assert [limiter.take("c") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("c") == pytest.approx(1.0)  # one token per second
    assert limiter.take("other") == 0.0  # per client
    now[0] = 1.0
    assert limiter.take("c") == 0.0 and limiter.take("c") > 0
    assert limiter.take("slow", per_minute=2) == 0.0 and limiter.take("slow", per_minute=2) == 0.0
    assert limiter.take("slow", per_minute=2) == pytest.approx(30.0)  # its own quota caps its burst


def test_idle_buckets_are_forgotten_when_many_clients_call() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0], max_keys=3)
    for key in ("a", "b", "c"):
        limiter.take(key)
    now[0] = 10.0  # every bucket is full again
    limiter.take("d")
    assert set(limiter._buckets) == {"d"}
