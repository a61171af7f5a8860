"""HTTP routes under /v1. Each module is thin: parse, call services, shape the answer."""
