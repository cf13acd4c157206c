"""The web app and JSON API: server-rendered pages over a read snapshot of the store (see store/snapshot.py)."""
