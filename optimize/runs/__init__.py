"""Orchestration: single runs, batches and sweeps."""
import os

#: ``MALLOC_TRIM_THRESHOLD_`` as the environment had it when tradeopt was imported (a Dask nanny writes its
#: default into ``os.environ`` of the process that starts a cluster; ``executors.connect_dask`` restores this).
USER_MALLOC_TRIM = os.environ.get("MALLOC_TRIM_THRESHOLD_")
