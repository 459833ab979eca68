"""The shipped pattern list: scored rules for a public contact address.

Placeholder list; tuned in a later step.
"""

from __future__ import annotations

from typing import Any

DEFAULT_THRESHOLD = 5.0

DEFAULT_PATTERNS: list[dict[str, Any]] = [
    {"id": "pharma", "pattern": r"\b(viagra|cialis|levitra|tramadol|xanax)\b", "fields": ["subject", "body"],
     "flags": "i", "score": 3.0, "describe": "names a drug sold by spam"},
    {"id": "casino", "pattern": r"\b(online casino|casino bonus|free spins)\b", "fields": ["subject", "body"],
     "flags": "i", "score": 3.0, "describe": "gambling offer"},
    {"id": "prize", "pattern": r"\b(claim your (prize|reward)|bitcoin prize|free iphone|lottery winner)\b",
     "fields": ["subject", "body"], "flags": "i", "score": 3.0, "describe": "announces a prize"},
    {"id": "crypto-giveaway", "pattern": r"\b(crypto giveaway|double your (bitcoin|btc|crypto))\b",
     "fields": ["subject", "body"], "flags": "i", "score": 5.0, "describe": "crypto giveaway scam"},
]
