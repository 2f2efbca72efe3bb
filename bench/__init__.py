"""Benchmarks against peers: each runs as ``python -m bench.<name>``; ``python -m bench`` runs them all."""
