"""Kafka without faust: topic names, creating topics, the CLI's producer and reader, TLS/SASL."""
