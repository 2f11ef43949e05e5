"""The officer console's plain-Python core: forms, submissions, approval and scheduling."""
