"""Doctest collection: modules that need an optional extra are skipped when it is missing."""

import importlib.util

_NEED_PYFLINK = ["fssdk/flink/_function.py", "fssdk/flink/_job.py"]

collect_ignore_glob = [] if importlib.util.find_spec("pyflink") else _NEED_PYFLINK
