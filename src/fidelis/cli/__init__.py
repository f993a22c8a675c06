"""Command-line interface: thin commands that call services and render their results."""
