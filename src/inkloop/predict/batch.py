"""Predicting many segments on a dask.distributed cluster (needs the `[cluster]` extra)."""

from inkloop.predict._batch import predict_jobs
from inkloop.predict._cluster import cluster_client, dashboard_address, local_cluster
from inkloop.predict._outcome import Job, Outcome, check_mask, run_in_turn
from inkloop.predict._plan import plan_jobs, plan_predictions

__all__ = [
    "Job",
    "Outcome",
    "check_mask",
    "cluster_client",
    "dashboard_address",
    "local_cluster",
    "plan_jobs",
    "plan_predictions",
    "predict_jobs",
    "run_in_turn",
]
