"""Orchestration: single runs, batches and sweeps."""
