"""Long-running loops (rollout analysis, monitor schedule, automation), leader only."""

from mainsail.controllers._leader import LeaderLock
from mainsail.controllers._manager import CONTROLLERS, ControllerManager, register_controller
from mainsail.controllers._protocol import Controller

__all__ = ["CONTROLLERS", "Controller", "ControllerManager", "LeaderLock", "register_controller"]
