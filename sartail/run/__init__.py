"""Runs: a recipe's stages trained in order in a resumable run folder; sweeps of recipes x seeds."""
