"""A year of history through OpenRouter's analytics API: what to ask (plan), how to ask it within the
limits (loader), and how its answers become rows (transform)."""
