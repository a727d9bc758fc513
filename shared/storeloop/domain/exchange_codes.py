"""Issue 9, exchange codes: 16 characters from a 32-letter alphabet, made by the OS CSPRNG.

Entropy: 16 × log2(32) = 80 bits, 2^80 ≈ 1.2e24 codes. With a whole batch of 10,000 live codes and a hundred such
batches (10^6 live codes), one guess finds a live code with probability 10^6 / 1.2e24 ≈ 8e-19; a botnet making 10^6
guesses a second for a year (3.2e13 guesses) expects 2.6e-5 hits. The codes are stored only as keyed hashes
(HMAC-SHA256 with the data key), so a copy of the table gives nobody a usable code either. docs/exchange-codes.md.
"""

from __future__ import annotations

import secrets
from typing import Final

# Crockford's base32 letters: no I, L, O, U, so a code read aloud or typed from paper has no look-alikes.
ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH: Final = 16
ENTROPY_BITS: Final = 80  # LENGTH × log2(len(ALPHABET))
MAX_BATCH: Final = 10_000
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(typed: str) -> str | None:
    """The code as stored: upper case, spaces and dashes dropped, look-alikes mapped; None if it cannot be one."""
    code = typed.strip().upper().replace("-", "").replace(" ", "").translate(_ALIASES)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code
