"""The inbound and reply Lambdas and the decisions they make."""
