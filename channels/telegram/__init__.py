"""The Telegram channel: Telegram-HTML messages, flood limits, and the bot's conversation."""
