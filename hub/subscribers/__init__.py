"""Subscribers: the directory, self-service commands, staff import, signed tokens, mail limits."""
