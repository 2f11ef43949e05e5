"""The email channel: multipart messages sent through a pool of SMTP connections."""
