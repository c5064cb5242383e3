"""Metrics, screens, frontier, cost and binding-cap analyses."""
