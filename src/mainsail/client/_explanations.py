"""SDK facade for explanations: attributions per row and global importance."""

from mainsail.client._bind import sdk
from mainsail.explanations import _explain

explain = sdk(_explain.explain)
global_importance = sdk(_explain.global_importance)
