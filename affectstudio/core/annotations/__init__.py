"""Annotation lanes: what researchers mark on a video, beside what the model predicts.

`lanes` is the data model (Qt-free, plain values); the project store keeps lanes, the review session edits
them through undoable commands, and importers/exporters/agreement read them.
"""
