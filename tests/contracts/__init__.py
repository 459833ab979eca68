"""One abstract contract suite per port, subclassed for each backend (the eventsourcing
library's way): the behaviour the product relies on is written once and proven on the
local engine and on the AWS adapters (moto)."""
