"""Foundations every other package builds on: settings, database, errors, logs, metrics."""
