"""Reporting: text tables and figures of chip sets, runs and comparisons (no training, no statistics)."""
