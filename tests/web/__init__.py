"""Booking pages over HTTP: cookies, CSRF, forms, views and the calendar file."""
