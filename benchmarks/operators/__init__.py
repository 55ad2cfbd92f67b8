"""Operators the end-to-end workloads run through the runner, written as users write them."""
