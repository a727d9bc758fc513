"""StoreLoop's shared layer: domain rules, data access, WeChat clients and the HTTP glue every function uses."""
