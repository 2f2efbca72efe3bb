"""Benchmarks against peers, each runnable as ``python -m bench.<name>``; ``python -m bench`` runs them all."""
