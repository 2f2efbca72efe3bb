"""Run every benchmark module in bench/ (each has a main())."""

import importlib
import pkgutil
import sys
from pathlib import Path

only = set(sys.argv[1:])
for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
    if info.name.startswith("_") or (only and info.name not in only):
        continue
    print(f"== bench.{info.name}", flush=True)
    importlib.import_module(f"bench.{info.name}").main()
