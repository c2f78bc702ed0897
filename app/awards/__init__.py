"""Awards: events, the pure award engine (engine.py), and — built on them — records and services."""
