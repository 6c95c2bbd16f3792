"""What the project assumes where OpenRouter publishes no number (docs/definitions.md#billing-assumptions).
Plain constants: the waterfall's estimated steps use them and say so."""

from __future__ import annotations

# A provider's ``service_tier`` multiplies what the request costs at its endpoint: OpenRouter's spec reports
# the tier a request ran on but lists no per-tier price. These are OpenAI's published ratios (flex half the
# standard price, priority about 1.75 times it); any other tier counts as standard.
SERVICE_TIER_MULTIPLIERS: dict[str, float] = {"flex": 0.5, "priority": 1.75}

# OpenRouter's fee on bring-your-own-key traffic, as a share of what the provider charged your key: used
# where analytics' ``byok_fees`` (31 days) does not reach.
BYOK_FEE_RATE = 0.05
