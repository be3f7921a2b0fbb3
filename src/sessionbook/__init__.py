"""sessionbook: sell coaching sessions, take payment, book them on a calendar."""
