"""Building blocks of the local platform (scripts/local_platform.py)."""
