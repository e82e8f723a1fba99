"""Settings of the inference server (``MAINSAIL_SERVE_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServeSettings(BaseSettings):
    """How ``mainsail serve`` behaves. Every field can be set with ``MAINSAIL_SERVE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="MAINSAIL_SERVE_", extra="ignore")

    model: str | None = Field(
        default=None, description="Model address to serve, e.g. models:/churn@champion."
    )
    model_dir: str | None = Field(
        default=None, description="A model package folder to serve without a store."
    )
    endpoint: str | None = Field(
        default=None, description="Endpoint name (the V2 model name). Default: the model name."
    )
    max_batch_size: int = Field(default=1024, description="Most rows one predict call takes.")
    max_wait_ms: float = Field(default=2.0, description="Longest a batch waits for more requests.")
    batch_budget_ms: float = Field(
        default=5.0,
        description="Most compute time the other requests' rows in a batch may add to any "
        "request (caps batch rows by the fitted cost per row); 0 disables the cap.",
    )
    max_queue: int = Field(
        default=2048, description="Requests waiting before new ones are shed with 503."
    )
    timeout_s: float = Field(
        default=10.0, description="A request waiting longer than this is shed with 503."
    )
    predict_threads: int = Field(
        default=1,
        description="Native (OpenMP/BLAS) threads per predict call; 0 leaves the library default.",
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, description="Larger request bodies get 413."
    )
    log_predictions: bool = Field(
        default=True, description="Append every prediction to the prediction log."
    )
    log_flush_interval: float = Field(
        default=2.0, description="Seconds between prediction-log flushes."
    )
    log_process: bool = Field(
        default=False,
        description="Write the prediction log and sketches from a child process, so that work "
        "never holds the serving process's GIL (``mainsail serve`` turns this on).",
    )
    journal_dir: str | None = Field(
        default=None,
        description="Local folder of the prediction-log journal (every answered batch is "
        "there before its reply is sent). Default: 'journal' in the home folder.",
    )
    reload_interval_s: float = Field(
        default=5.0, description="How often an alias is re-resolved for hot swap (0: never)."
    )
    endpoint_poll_s: float = Field(
        default=1.0, description="Endpoint mode: how often the current revision is read."
    )
    stats_window_s: float = Field(
        default=10.0, description="Endpoint mode: length of a serving-stats window."
    )
    stats_flush_s: float = Field(
        default=2.0, description="Endpoint mode: seconds between serving-stats flushes."
    )
    shadow_max_in_flight: int = Field(
        default=64, description="Shadow copies in flight before new ones are dropped."
    )
