"""Newsletters: configuration, items as they are published, editions per period, the archive."""
