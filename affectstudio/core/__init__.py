"""Everything that works without a screen: video, faces, the network, inference, results, projects.

Nothing below this package imports Qt (tests/test_architecture.py enforces it).
"""
