"""The coach's brand: who the customer is booking with, shown on every page and email."""
