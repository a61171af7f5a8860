"""Domain services: keyword-only functions over a Session. They never commit (the request
dependency or the job wrapper owns the transaction) and know nothing of HTTP."""
