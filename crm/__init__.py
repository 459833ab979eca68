"""The command line, settings and the embedded local stack."""
