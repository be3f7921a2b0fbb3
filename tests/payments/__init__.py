"""Tests of the Airwallex client, its stand-in, webhook signatures and money conversion."""
