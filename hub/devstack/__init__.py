"""Local development stack: Kafka, mail catcher."""
