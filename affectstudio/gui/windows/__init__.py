"""GUI windows and docks around the review window (training, project browser, agreement, statistics)."""
