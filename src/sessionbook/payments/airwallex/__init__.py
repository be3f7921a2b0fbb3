"""Airwallex: the gateway protocol, its httpx client, wire objects, signatures, money."""
