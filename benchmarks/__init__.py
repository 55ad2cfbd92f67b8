"""Benchmarks of fssdk state against raw rocksdict: run them with ``python -m benchmarks``.

Each workload is a named function whose docstring gives its operation mix; it runs on MemoryStore,
RocksDBStore and, where it has an equivalent, raw rocksdict doing the same puts, gets and
iterations on keys of the same length. See docs/performance.md for the method and the results.
"""
