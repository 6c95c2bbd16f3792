"""The weekly cost review: what changed since last week, and why."""
