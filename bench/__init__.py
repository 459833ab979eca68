"""Benchmarks of the conversation CRM: ``make bench`` (``python -m bench``).

Never part of the test suite. See ``bench/README.md`` for what each number means
and ``bench/prices.py`` for the price table the cost figures use.
"""
