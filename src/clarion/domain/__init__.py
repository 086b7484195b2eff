"""Entities, statuses and rules. No I/O lives here."""
