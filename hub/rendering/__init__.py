"""What a person reads: the Jinja2 environment, template lookup, personal links."""
