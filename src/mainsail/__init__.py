"""Mainsail: closed-loop MLOps in one install.

Public names are imported lazily so ``import mainsail`` stays fast; the first use of
``mainsail.start_run`` (say) loads what it needs.

Examples
--------
>>> import mainsail
>>> with mainsail.start_run(experiment="churn", params={"depth": 3}) as run:  # doctest: +SKIP
...     run.log_metric("auc", 0.91, step=3)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # client facade
    "configure": "mainsail.client",
    "reset": "mainsail.client",
    "get_context": "mainsail.client",
    "start_run": "mainsail.client",
    "active_run": "mainsail.client",
    "end_run": "mainsail.client",
    "log_metric": "mainsail.client",
    "log_metrics": "mainsail.client",
    "log_param": "mainsail.client",
    "log_params": "mainsail.client",
    "set_tag": "mainsail.client",
    "log_artifact": "mainsail.client",
    "get_run": "mainsail.client",
    "get_metric_history": "mainsail.client",
    "search_runs": "mainsail.client",
    "find_runs": "mainsail.client",
    "download_artifact": "mainsail.client",
    "seed_everything": "mainsail.client",
    "autolog": "mainsail.client",
    "log_dataset": "mainsail.client",
    "get_dataset": "mainsail.client",
    "load_dataset": "mainsail.client",
    "validate": "mainsail.client",
    "alias_history": "mainsail.client",
    "archive_version": "mainsail.client",
    "delete_alias": "mainsail.client",
    "delete_version": "mainsail.client",
    "get_model_version": "mainsail.client",
    "list_model_versions": "mainsail.client",
    "list_models": "mainsail.client",
    "load_model": "mainsail.client",
    "register_model": "mainsail.client",
    "set_alias": "mainsail.client",
    "unarchive_version": "mainsail.client",
    "update_model_card": "mainsail.client",
    "PythonModel": "mainsail.runtimes",
    # monitoring
    "drift": "mainsail.monitoring",
    # release checks
    "check": "mainsail.checks",
    "get_check_results": "mainsail.checks",
    "latest_check": "mainsail.checks",
    "register_check": "mainsail.checks",
    "CheckResult": "mainsail.checks",
    "CheckOutcome": "mainsail.checks",
    "CheckPolicy": "mainsail.checks",
    # monitoring: monitors, alerts (issue 6)
    "create_monitor": "mainsail.monitoring",
    "run_monitor": "mainsail.monitoring",
    "list_monitors": "mainsail.monitoring",
    "list_alerts": "mainsail.monitoring",
    "resolve_alert": "mainsail.monitoring",
    "AlertRule": "mainsail.monitoring",
    "MonitorResult": "mainsail.monitoring",
    # automation: trigger -> retrain -> checks -> canary (issue 8)
    "create_automation": "mainsail.automation",
    "get_automation": "mainsail.automation",
    "list_automations": "mainsail.automation",
    "automation_trail": "mainsail.automation",
    "trigger_automation": "mainsail.automation",
    "approve_automation": "mainsail.automation",
    # pipelines
    "step": "mainsail.pipelines",
    "pipeline": "mainsail.pipelines",
    "run_pipeline": "mainsail.pipelines",
    "get_pipeline_run": "mainsail.pipelines",
    "list_pipeline_runs": "mainsail.pipelines",
    "why_rerun": "mainsail.pipelines",
    "PipelineRun": "mainsail.pipelines",
    "StepRun": "mainsail.pipelines",
    # progressive delivery (rollout)
    "deploy": "mainsail.rollout",
    "get_endpoint": "mainsail.rollout",
    "list_endpoints": "mainsail.rollout",
    "get_rollout": "mainsail.rollout",
    "list_rollouts": "mainsail.rollout",
    "promote": "mainsail.rollout",
    "pause": "mainsail.rollout",
    "resume": "mainsail.rollout",
    "abort": "mainsail.rollout",
    "rollback": "mainsail.rollout",
    "ab_report": "mainsail.rollout",
    "shadow_report": "mainsail.rollout",
    "declare_winner": "mainsail.rollout",
    "Rollout": "mainsail.rollout",
    "RolloutSpec": "mainsail.rollout",
    "Endpoint": "mainsail.rollout",
    # core
    "MainsailError": "mainsail.core",
    "Settings": "mainsail.core",
    "Run": "mainsail.core._schemas",
    "DatasetVersion": "mainsail.core._schemas",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:
    # release checks
    from mainsail.automation import (  # noqa: F401
        approve_automation,
        automation_trail,
        create_automation,
        get_automation,
        list_automations,
        trigger_automation,
    )
    from mainsail.checks import (  # noqa: F401
        CheckOutcome,
        CheckPolicy,
        CheckResult,
        check,
        get_check_results,
        latest_check,
        register_check,
    )
    from mainsail.client import (  # noqa: F401  # noqa: F401
        active_run,
        alias_history,
        archive_version,
        autolog,
        configure,
        delete_alias,
        delete_version,
        download_artifact,
        end_run,
        find_runs,
        get_context,
        get_dataset,
        get_metric_history,
        get_model_version,
        get_run,
        list_model_versions,
        list_models,
        load_dataset,
        load_model,
        log_artifact,
        log_dataset,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        register_model,
        reset,
        search_runs,
        seed_everything,
        set_alias,
        set_tag,
        start_run,
        unarchive_version,
        update_model_card,
        validate,
    )
    from mainsail.core import MainsailError, Settings  # noqa: F401
    from mainsail.core._schemas import DatasetVersion, Run  # noqa: F401

    # monitoring: monitors, alerts (issue 6)
    from mainsail.monitoring import (  # noqa: F401
        AlertRule,
        MonitorResult,
        create_monitor,
        drift,  # noqa: F401
        list_alerts,
        list_monitors,
        resolve_alert,
        run_monitor,
    )
    from mainsail.pipelines import (  # noqa: F401  # pipelines
        PipelineRun,
        StepRun,
        get_pipeline_run,
        list_pipeline_runs,
        pipeline,
        run_pipeline,
        step,
        why_rerun,
    )

    # progressive delivery (rollout)
    from mainsail.rollout import (  # noqa: F401
        Endpoint,
        Rollout,
        RolloutSpec,
        ab_report,
        abort,
        declare_winner,
        deploy,
        get_endpoint,
        get_rollout,
        list_endpoints,
        list_rollouts,
        pause,
        promote,
        resume,
        rollback,
        shadow_report,
    )
    from mainsail.runtimes import PythonModel  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mainsail' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
