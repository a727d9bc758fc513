"""Benchmarks (`make bench`): ratios measured in one run, printed, never asserted as timed tests."""
