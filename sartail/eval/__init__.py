"""Scoring: the evaluation loop, the metrics, the one scorer of a stage and the typed results."""
