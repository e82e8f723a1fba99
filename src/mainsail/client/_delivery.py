"""SDK facade for progressive delivery: deploy, steer rollouts, A/B and shadow reports."""

from mainsail.client._bind import sdk
from mainsail.rollout import _api

ab_report = sdk(_api.ab_report)
abort = sdk(_api.abort)
declare_winner = sdk(_api.declare_winner)
deploy = sdk(_api.deploy)
get_endpoint = sdk(_api.get_endpoint)
get_rollout = sdk(_api.get_rollout)
list_endpoints = sdk(_api.list_endpoints)
list_rollouts = sdk(_api.list_rollouts)
pause = sdk(_api.pause)
promote = sdk(_api.promote)
resume = sdk(_api.resume)
rollback = sdk(_api.rollback)
shadow_report = sdk(_api.shadow_report)
