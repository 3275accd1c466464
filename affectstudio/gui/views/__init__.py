"""Views of the review session (each takes the session and subscribes to it)."""
