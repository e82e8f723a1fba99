"""The data plane: V2 + MLflow protocols, adaptive batching, prediction log, metrics, hot swap."""

from mainsail.serving._app import DataPlane, build_app, create_app
from mainsail.serving._batching import Batcher, LatencyModel, Overloaded
from mainsail.serving._model import ModelSlot, ServedModel
from mainsail.serving._predlog import LiveSketches, SegmentWriter, read_segments
from mainsail.serving._settings import ServeSettings

__all__ = [
    "Batcher",
    "DataPlane",
    "LatencyModel",
    "LiveSketches",
    "ModelSlot",
    "Overloaded",
    "SegmentWriter",
    "ServeSettings",
    "ServedModel",
    "build_app",
    "create_app",
    "read_segments",
]
