"""Storage: dialog drafts, append-only reports and their audit trail, the outbox, seen events."""
