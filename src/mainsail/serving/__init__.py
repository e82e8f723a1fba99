"""The data plane: V2 + MLflow protocols, adaptive batching, prediction log, metrics, hot swap."""

from mainsail.serving._app import create_app
from mainsail.serving._batching import Batcher, LatencyModel, Overloaded
from mainsail.serving._endpoint_plane import EndpointPlane
from mainsail.serving._model import ModelSlot, ServedModel
from mainsail.serving._model_plane import ModelPlane
from mainsail.serving._plane import DataPlane
from mainsail.serving._predlog import LiveSketches, SegmentWriter, read_segments
from mainsail.serving._routes import build_app
from mainsail.serving._settings import ServeSettings

__all__ = [
    "Batcher",
    "DataPlane",
    "EndpointPlane",
    "LatencyModel",
    "LiveSketches",
    "ModelPlane",
    "ModelSlot",
    "Overloaded",
    "SegmentWriter",
    "ServeSettings",
    "ServedModel",
    "build_app",
    "create_app",
    "read_segments",
]
