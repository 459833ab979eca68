"""`crm web`: a local web view over the same functions the CLI calls (see :mod:`crm.web.backend`)."""
