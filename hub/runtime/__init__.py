"""The only code that imports faust: the app, its topics and tables, the agents, the worker."""
