"""Batch scoring of review dumps: the local engine (``score``), its worker processes and the Ray engine."""
