"""The `hub` command and its subcommands."""
