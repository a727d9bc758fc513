"""Deploy tooling: the SAM transform and lint of the template, the layer's import check, `make deploy`'s checks,
and `make secrets`. Never deployed."""
