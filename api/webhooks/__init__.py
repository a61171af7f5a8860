"""Webhooks to care teams: the outbox, Standard Webhooks signing and delivery with retries."""
