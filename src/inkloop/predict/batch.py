"""Predicting many segments on a dask.distributed cluster (needs the `[cluster]` extra)."""

from inkloop.predict._batch import Job, plan_jobs, predict_jobs
from inkloop.predict._cluster import cluster_client, dashboard_address, local_cluster

__all__ = [
    "Job",
    "cluster_client",
    "dashboard_address",
    "local_cluster",
    "plan_jobs",
    "predict_jobs",
]
