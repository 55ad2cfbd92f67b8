"""Comparisons with other stream processors, run on this machine (see docs/performance.md)."""
