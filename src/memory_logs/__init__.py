"""Memory logs: short timestamped entries a user keeps."""
