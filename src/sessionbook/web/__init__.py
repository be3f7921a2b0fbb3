"""The customer's booking pages: server-rendered flow, its JSON helpers and static files."""
