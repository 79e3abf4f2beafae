"""Invoke tasks, thin: parse flags, call one package function, print the result.

Each module holds the tasks of one concern; the root ``tasks.py`` only composes them.
"""
