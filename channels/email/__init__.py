"""The email channel (channel), its SMTP connection pool (pool) and the message it builds (mime)."""
