"""Benchmarks; run from the repository root, never collected by pytest (testpaths is tests)."""
