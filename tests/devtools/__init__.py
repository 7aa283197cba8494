"""Development-only tools: the benchmark, the synthetic register, soak and fault tests.

Installed by tests/devtools/settings.py, never by the production settings.
"""
