"""Use cases, one module per area: each takes validated input and the caller, and returns a response model."""
