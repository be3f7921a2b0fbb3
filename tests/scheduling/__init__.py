"""Tests of the Cal.com client against the Cal.com stand-in, over real HTTP."""
