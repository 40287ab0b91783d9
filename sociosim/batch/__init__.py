"""Many runs: plan (design × replications -> runs), task (one run in a worker), execute (the
executor loop), executors (serial, processes, Dask) and store (Parquet parts + DuckDB).

Names are imported on first use, so importing one submodule never pulls in the rest.
"""

from sociosim._lazy import lazy_exports

_EXPORTS = {
    "BatchResult": "sociosim.batch.execute",
    "rerun": "sociosim.batch.execute",
    "run_batch": "sociosim.batch.execute",
    "with_ids": "sociosim.batch.execute",
    "BatchPlan": "sociosim.batch.plan",
    "RunSpec": "sociosim.batch.plan",
    "batch_hash": "sociosim.batch.plan",
    "plan_batch": "sociosim.batch.plan",
    "run_key": "sociosim.batch.plan",
    "run_seed": "sociosim.batch.plan",
    "RunOutput": "sociosim.batch.task",
    "run_chunk": "sociosim.batch.task",
    "run_one": "sociosim.batch.task",
    "DesignPlan": "sociosim.batch.design",
    "expand_design": "sociosim.batch.design",
    "ID_COLUMNS": "sociosim.batch.store",
    "ResultStore": "sociosim.batch.store",
    "StoreError": "sociosim.batch.store",
    "create_store": "sociosim.batch.store",
    "open_store": "sociosim.batch.store",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
