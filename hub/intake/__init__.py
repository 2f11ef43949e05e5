"""Accepting an event at the edge: schemas, validation naming every problem, the event's topic."""
