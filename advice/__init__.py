"""Condition-specific advice on waiting well, written and kept current by trust staff."""
