"""Alembic revisions, date-prefixed."""
