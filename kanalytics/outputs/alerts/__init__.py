"""Alerts: findings as they are committed, deduplicated, queued in an outbox and delivered to sinks."""
