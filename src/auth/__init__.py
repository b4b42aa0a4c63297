"""Users, passwords, access tokens and status."""
