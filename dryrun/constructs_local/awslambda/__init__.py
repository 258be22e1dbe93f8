"""AWS Lambda, in this process: a template's function runs with its timeout, memory and
environment enforced the way the Lambda service enforces them (``runtime``)."""
