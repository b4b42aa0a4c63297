"""Mental notes: titled notes a user keeps."""
