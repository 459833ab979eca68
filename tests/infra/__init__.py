"""Tests of infra/: HCL parses, checkov passes, infra and code agree."""
