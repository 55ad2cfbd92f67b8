"""Doctest collection leaves out the PyFlink modules of fssdk.flink.

They hold no doctests, need the optional ``flink`` extra, and importing them sets ``PYTHONPATH``
for Flink's embedded Python, which every subprocess of the test run would then inherit.
"""

collect_ignore_glob = [
    "fssdk/flink/_function.py",
    "fssdk/flink/_job.py",
    "benchmarks/flink.py",
]
