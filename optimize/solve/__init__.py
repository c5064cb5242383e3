"""Solver backends: direct highspy (default) and algebraic Pyomo; one status taxonomy."""
