"""Local development stack, never shipped: Kafka, mail catcher, Telegram sandbox, make run."""
