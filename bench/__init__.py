"""Benchmarks of the hub against its references; `make bench` runs them all."""
