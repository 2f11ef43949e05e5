"""Communications hub: events in, deliveries out."""
