"""Admin notifications: messages sent to everyone, to admins, or to one user."""
