"""Signatures a Standard Webhooks receiver accepts, and the retry schedule's bounds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from api.webhooks.dispatch import DEFAULT_POLICY, RetryPolicy
from api.webhooks.signing import generate_secret, new_message_id, signed_headers

BODY = '{"data":{"alert_id":1},"timestamp":"2026-11-24T08:00:00Z","type":"alert.opened"}'


def test_a_receiver_accepts_the_signature_and_refuses_a_tampered_body():
    secret = generate_secret()
    headers = signed_headers(
        secret=secret, message_id=new_message_id(), body=BODY, sent_at=datetime.now(UTC)
    )
    assert Webhook(secret).verify(BODY, headers)["type"] == "alert.opened"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("opened", "resolved"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_a_retry_keeps_its_webhook_id_and_is_signed_for_its_own_time():
    secret, message_id = generate_secret(), new_message_id()
    now = datetime.now(UTC)
    first = signed_headers(
        secret=secret, message_id=message_id, body=BODY, sent_at=now - timedelta(minutes=20)
    )
    retry = signed_headers(secret=secret, message_id=message_id, body=BODY, sent_at=now)
    assert first["webhook-id"] == retry["webhook-id"] == message_id
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, first)  # a replayed old request is refused
    assert Webhook(secret).verify(BODY, retry)


def test_secrets_are_fresh_and_in_the_standard_form():
    secrets = {generate_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(secret.startswith("whsec_") and len(secret) == 50 for secret in secrets)


@given(
    attempts=st.integers(min_value=1, max_value=40),
    base_s=st.integers(min_value=1, max_value=600),
    cap_s=st.integers(min_value=1, max_value=86_400),
    seed=st.integers(),
)
def test_every_wait_is_between_zero_and_the_doubling_ceiling(attempts, base_s, cap_s, seed):
    policy = RetryPolicy(base_delay=timedelta(seconds=base_s), max_delay=timedelta(seconds=cap_s))
    wait = policy.delay_after(attempts, rng=random.Random(seed)).total_seconds()
    assert 0 <= wait <= min(cap_s, base_s * 2 ** (attempts - 1))


def test_the_default_schedule_gives_a_receiver_hours_to_come_back():
    ceilings = [
        min(
            DEFAULT_POLICY.max_delay.total_seconds(),
            DEFAULT_POLICY.base_delay.total_seconds() * 2 ** (attempt - 1),
        )
        for attempt in range(1, DEFAULT_POLICY.max_attempts)
    ]
    assert 6 * 3600 < sum(ceilings) / 2 < 8 * 3600  # the mean total wait with full jitter
