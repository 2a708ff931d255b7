"""The `sf` command line: the composition root that wires the core and every role together."""
