"""Helpers the tests share: a support package, not tests (pytest collects no test here).

Test modules import from here and take fixtures from the conftest.py files; they never
import from one another.
"""
