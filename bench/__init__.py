"""Benchmarks against peers. Run one with `python -m bench.<name>`, all with `python -m bench` (make bench)."""
