"""Cal.com: the calendar protocol, its httpx client and wire objects."""
