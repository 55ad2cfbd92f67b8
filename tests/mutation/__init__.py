"""The mutation run of the write buffer, the buffered store and the key layout.

``python -m tests.mutation`` (docs/testing.md, "Mutation score"): cosmic-ray mutates
``fssdk/stores/_buffer.py``, ``fssdk/stores/_buffered.py`` and ``fssdk/_keyformat.py`` in a copy
of the checkout and runs the fast subset of their tests (:data:`tests.mutation.__main__.TESTS`,
with the machines of :mod:`tests.mutation.machines`) against each mutant. Not part of CI.
"""
