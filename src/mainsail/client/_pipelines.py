"""SDK facade for pipeline runs, on the process context.

Transitional: these names are the domain's own functions until they take the context as their
first parameter; then each becomes ``name = sdk(domain.name)`` (see ``_bind``).
"""

from mainsail.pipelines import (
    get_pipeline_run,
    list_pipeline_runs,
    run_pipeline,
    why_rerun,
)

__all__ = [
    "get_pipeline_run",
    "list_pipeline_runs",
    "run_pipeline",
    "why_rerun",
]
