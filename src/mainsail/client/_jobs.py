"""SDK facade for the job queue: enqueue, inspect."""

from mainsail.client._bind import sdk
from mainsail.jobs import _queue

enqueue_job = sdk(_queue.enqueue)
get_job = sdk(_queue.get_job)
list_jobs = sdk(_queue.list_jobs)
