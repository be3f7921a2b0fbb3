"""The booking domain: a customer's purchase of one package and its way to a scheduled session."""
