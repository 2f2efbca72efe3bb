"""Run every benchmark module in bench/ in turn (``make bench``)."""

import importlib
import pkgutil

import bench

for module in sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_")):
    print(f"== bench.{module}", flush=True)
    importlib.import_module(f"bench.{module}").main([])
