"""A job queue in the metadata database, and the workers that run it.

Examples
--------
>>> import mainsail.jobs
>>> job_id = mainsail.jobs.enqueue("pipeline", {"pipeline": "train:pipeline"})  # doctest: +SKIP
>>> mainsail.jobs.Worker().run(until_idle=True)  # doctest: +SKIP
1
>>> mainsail.jobs.get_job(job_id).status  # doctest: +SKIP
'done'
"""

from __future__ import annotations

from mainsail.jobs._handlers import (
    HANDLERS,
    check_job_handler,
    register_handler,
    run_pipeline_job,
    unregister_handler,
)
from mainsail.jobs._queue import Job, enqueue, get_job, list_jobs, reap_stale_jobs, submit
from mainsail.jobs._worker import Worker, run_worker

__all__ = [
    "HANDLERS",
    "Job",
    "Worker",
    "check_job_handler",
    "enqueue",
    "get_job",
    "list_jobs",
    "reap_stale_jobs",
    "register_handler",
    "run_pipeline_job",
    "run_worker",
    "submit",
    "unregister_handler",
]
