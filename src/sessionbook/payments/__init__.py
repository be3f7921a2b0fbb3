"""Payments: the Airwallex port, its httpx client, webhook signatures and money conversions."""
