"""Issue 9: a claim with a source and a daily limit against the bare DynamoDB calls it makes (goal ≤ 1.3×), and its
write units against the minimum its invariants need. The same measurement as bench/claim.py, on that claim."""

from __future__ import annotations

from bench import claim


def main() -> None:
    claim.main(sourced=True)


if __name__ == "__main__":
    main()
