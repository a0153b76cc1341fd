"""Benchmarks: `python -m benchmarks NAME` prints one JSON line of measured ratios."""
