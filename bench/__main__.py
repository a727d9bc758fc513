"""`make bench`: run every benchmark module that exists and print its table."""

from __future__ import annotations

import importlib
import sys

MODULES = ["bench.coldstart", "bench.claim", "bench.claim_sourced", "bench.orders", "bench.flash_sale",
           "bench.authorizer_cache", "bench.copurchase"]


def main() -> int:
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        print(f"\n== {name} ==", flush=True)
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
