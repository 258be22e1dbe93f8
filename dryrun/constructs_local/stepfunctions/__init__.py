"""AWS Step Functions and S3 for a batch's workflow: moto's ASL interpreter runs the definition
that ships, with the fixes and limits AWS has and moto lacks (``interpreter``)."""
