"""Pure StoreLoop business rules: no AWS, no I/O, no environment reads; integer fen for money."""
