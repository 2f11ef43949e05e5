"""Delivery media: one module per channel; they import the hub's value types, never faust."""
