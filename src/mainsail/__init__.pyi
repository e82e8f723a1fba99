# The public `mainsail` namespace: this stub is its one list. `__init__.py` loads each name
# lazily from here (lazy_loader), so `import mainsail` stays fast, and type checkers read the
# same list. SDK functions come from the facade (`mainsail.client`), which binds the domain
# functions to the process context; types come from the domain packages.
# isort: skip_file

# -- the context -----------------------------------------------------------------------------
from .client._context import configure as configure
from .client._context import get_context as get_context
from .client._context import reset as reset

# -- tracking and datasets ------------------------------------------------------------------
from .client._api import active_run as active_run
from .client._api import autolog as autolog
from .client._api import download_artifact as download_artifact
from .client._api import end_run as end_run
from .client._api import find_runs as find_runs
from .client._api import get_dataset as get_dataset
from .client._api import get_metric_history as get_metric_history
from .client._api import get_run as get_run
from .client._api import load_dataset as load_dataset
from .client._api import log_artifact as log_artifact
from .client._api import log_dataset as log_dataset
from .client._api import log_metric as log_metric
from .client._api import log_metrics as log_metrics
from .client._api import log_param as log_param
from .client._api import log_params as log_params
from .client._api import search_runs as search_runs
from .client._api import seed_everything as seed_everything
from .client._api import set_tag as set_tag
from .client._api import start_run as start_run
from .client._api import validate as validate
from .core._schemas import DatasetVersion as DatasetVersion
from .core._schemas import Run as Run

# -- the model registry ---------------------------------------------------------------------
from .client._registry_api import alias_history as alias_history
from .client._registry_api import archive_version as archive_version
from .client._registry_api import delete_alias as delete_alias
from .client._registry_api import delete_version as delete_version
from .client._registry_api import get_model_version as get_model_version
from .client._registry_api import list_model_versions as list_model_versions
from .client._registry_api import list_models as list_models
from .client._registry_api import load_model as load_model
from .client._registry_api import register_model as register_model
from .client._registry_api import set_alias as set_alias
from .client._registry_api import unarchive_version as unarchive_version
from .client._registry_api import update_model_card as update_model_card
from .runtimes import PythonModel as PythonModel

# -- release checks -------------------------------------------------------------------------
from .checks import CheckOutcome as CheckOutcome
from .checks import CheckPolicy as CheckPolicy
from .checks import CheckResult as CheckResult
from .checks import register_check as register_check
from .client._checks import check as check
from .client._checks import get_check_results as get_check_results
from .client._checks import latest_check as latest_check

# -- progressive delivery -------------------------------------------------------------------
from .client._delivery import ab_report as ab_report
from .client._delivery import abort as abort
from .client._delivery import declare_winner as declare_winner
from .client._delivery import deploy as deploy
from .client._delivery import get_endpoint as get_endpoint
from .client._delivery import get_rollout as get_rollout
from .client._delivery import list_endpoints as list_endpoints
from .client._delivery import list_rollouts as list_rollouts
from .client._delivery import pause as pause
from .client._delivery import promote as promote
from .client._delivery import resume as resume
from .client._delivery import rollback as rollback
from .client._delivery import shadow_report as shadow_report
from .rollout import Endpoint as Endpoint
from .rollout import Rollout as Rollout
from .rollout import RolloutSpec as RolloutSpec

# -- monitoring -----------------------------------------------------------------------------
from .client._monitoring import create_monitor as create_monitor
from .client._monitoring import list_alerts as list_alerts
from .client._monitoring import list_monitors as list_monitors
from .client._monitoring import resolve_alert as resolve_alert
from .client._monitoring import run_monitor as run_monitor
from .monitoring import AlertRule as AlertRule
from .monitoring import MonitorResult as MonitorResult
from .monitoring import drift as drift

# -- automation -----------------------------------------------------------------------------
from .client._automation import approve_automation as approve_automation
from .client._automation import automation_trail as automation_trail
from .client._automation import create_automation as create_automation
from .client._automation import get_automation as get_automation
from .client._automation import list_automations as list_automations
from .client._automation import trigger_automation as trigger_automation

# -- pipelines ------------------------------------------------------------------------------
from .client._pipelines import get_pipeline_run as get_pipeline_run
from .client._pipelines import list_pipeline_runs as list_pipeline_runs
from .client._pipelines import run_pipeline as run_pipeline
from .client._pipelines import why_rerun as why_rerun
from .pipelines import PipelineRun as PipelineRun
from .pipelines import StepRun as StepRun
from .client._pipelines import pipeline as pipeline
from .pipelines import step as step

# -- explanations -------------------------------------------------------------------------
from .client._explanations import explain as explain
from .client._explanations import global_importance as global_importance
from .explanations import Explanation as Explanation

# -- the job queue ------------------------------------------------------------------------
from .client._jobs import enqueue_job as enqueue_job
from .client._jobs import get_job as get_job
from .client._jobs import list_jobs as list_jobs

# -- capacity and cost -----------------------------------------------------------------------
from .client._capacity import load_test as load_test
from .client._capacity import recommend_sizing as recommend_sizing

# -- core -----------------------------------------------------------------------------------
from .core import MainsailError as MainsailError
from .core import Settings as Settings

__version__: str
