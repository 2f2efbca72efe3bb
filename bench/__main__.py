"""Run every benchmark module in bench/ in turn (``make bench``); ``python -m bench NAME...`` runs some."""

import importlib
import pkgutil
import sys

import bench

only = set(sys.argv[1:])
for module in sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_")):
    if only and module not in only:
        continue
    print(f"== bench.{module}", flush=True)
    importlib.import_module(f"bench.{module}").main([])
