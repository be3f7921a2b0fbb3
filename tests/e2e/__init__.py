"""Browser tests of the booking pages: Playwright driving Chromium against a live server."""
