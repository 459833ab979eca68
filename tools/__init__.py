"""Build tools, run from the checkout (make package); never part of the Lambda package."""
