"""Long-running loops (rollout analysis, monitor schedule, automation), leader only."""

from mainsail.controllers._manager import ControllerManager, available_controllers
from mainsail.controllers._protocol import Controller
from mainsail.controllers._registry import CONTROLLERS, check_controller, register_controller
from mainsail.store._leader import LeaderLock

__all__ = [
    "CONTROLLERS",
    "Controller",
    "ControllerManager",
    "LeaderLock",
    "available_controllers",
    "check_controller",
    "register_controller",
]
