"""Standard Webhooks signatures, checked with the reference verifier (``standardwebhooks``)."""

from __future__ import annotations

import secrets
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.webhooks.signing import headers, new_secret, standard_secret, verify

pytestmark = pytest.mark.unit
BODY = '{"specversion":"1.0","id":"e-1","data":{"tên":"Trường THCS Đại Sơn"}}'.encode()


def test_a_new_secret_is_read_as_is_by_a_standard_verifier() -> None:
    secret = new_secret()
    sent = headers(secret, "d-1", int(time.time()), BODY)
    assert Webhook(secret).verify(BODY, sent)["data"]["tên"] == "Trường THCS Đại Sơn"
    assert verify(secret, sent["X-Thidua-Timestamp"], BODY, sent["X-Thidua-Signature"])  # deprecated pair
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, sent)  # another subscription's secret
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**sent, "webhook-id": "d-2"})  # the id is signed
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers(secret, "d-1", int(time.time()) - 600, BODY))  # too old: a replay


def test_a_secret_of_the_last_release_verifies_in_its_standard_form() -> None:
    legacy = "whsec_" + secrets.token_urlsafe(32)  # URL-safe base64, as subscriptions were made before
    sent = headers(legacy, "d-1", int(time.time()), BODY)
    assert Webhook(standard_secret(legacy)).verify(BODY, sent) is not None
    assert verify(legacy, sent["X-Thidua-Timestamp"], BODY, sent["X-Thidua-Signature"])
    new = new_secret()
    assert standard_secret(new) == new
