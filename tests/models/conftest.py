"""Fixtures of the model tests (defined with their helpers in model_helpers.py)."""

from model_helpers import tiny_backend, tiny_model_dir  # noqa: F401
