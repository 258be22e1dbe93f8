"""Amazon DataZone on 127.0.0.1, laid out like a moto service: ``models`` (the in-memory service:
runs, predictions, and in ``catalog`` data sources and search), ``protocol`` (rest-json routing,
parsing and serializing, which are moto's, and the service's validation), ``exceptions`` (its
errors, with the model's status codes) and ``server`` (the HTTP server and its request handler)."""
