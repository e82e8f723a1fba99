"""SDK facade for capacity and cost: load tests and right-sizing from their curves."""

from mainsail.client._bind import sdk
from mainsail.packaging import _sizing
from mainsail.serving import _loadtest

load_test = sdk(_loadtest.load_test)
recommend_sizing = sdk(_sizing.recommend_sizing)

__all__ = ["load_test", "recommend_sizing"]
