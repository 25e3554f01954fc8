"""Training: the one loop (``fit_stage``), its stage kinds and stage behaviours, heads, losses, samplers, schedules and callbacks."""
