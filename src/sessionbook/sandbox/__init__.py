"""Faithful local stand-ins for the providers, served in sandbox mode and used by the tests."""
