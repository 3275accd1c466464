"""Dialogs of the GUI windows (projects, overlays, fill from predictions)."""
