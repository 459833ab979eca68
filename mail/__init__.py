"""MIME parsing and building, addresses and thread tokens. Pure: no AWS."""
