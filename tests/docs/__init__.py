"""The documentation's examples, run as tests."""
