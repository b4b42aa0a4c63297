"""Cross-cutting infrastructure: settings, database, security, dependencies."""
