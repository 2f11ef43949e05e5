"""From an event to deliveries: audience, language, channel, the planner, dry run. Pure."""
