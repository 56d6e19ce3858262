"""Model analysis and pruning engine.

Nothing in this package imports Qt or pyqtgraph, so the CLI, the tests and the GUI's worker
threads share the same functions. ``tests/test_engine_boundary.py`` checks the rule.
"""
