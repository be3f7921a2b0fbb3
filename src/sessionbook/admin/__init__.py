"""Operator views and actions: the /admin dashboard and the `sessionbook bookings` commands."""
