"""Sending and following deliveries: dispatcher, retry policy, status, stuck, redrive."""
