"""Helpers for web tests: a real server on 127.0.0.1 over a real store."""
