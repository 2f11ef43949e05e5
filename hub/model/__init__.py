"""Value objects and Kafka records: events, subscribers, deliveries, outcomes, audit. Pure."""
