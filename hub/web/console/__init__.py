"""The officer console: sign-in, compose, preview, approve, schedule and follow events."""
