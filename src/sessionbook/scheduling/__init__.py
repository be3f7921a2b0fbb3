"""Scheduling: the Calendar port, the Cal.com API v2 client and the booking rules around them."""
