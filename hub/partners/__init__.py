"""The partner registry: organisations, domains, access decisions, and changes to them."""
