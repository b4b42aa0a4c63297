"""Mindwire's pytest plugin and test helpers (`pip install 'mindwire[testing]'`).

This package's `__init__` stays empty on purpose: pytest imports `src.testing.plugin` in every
run of an environment where mindwire is installed, so nothing heavy may load on the way.
Import the helpers from their modules: `src.testing.clients`, `.server`, `.users`, `.stacks`.
"""
