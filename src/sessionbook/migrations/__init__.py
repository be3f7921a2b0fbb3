"""Alembic migrations, shipped inside the package so `sessionbook migrate` works anywhere."""
