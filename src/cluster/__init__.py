"""The processes of one deployment: the relay, its lease, wake-ups, notices and presence."""
