"""Training: the one loop (``fit_stage``), heads, losses, samplers, schedules and callbacks."""
