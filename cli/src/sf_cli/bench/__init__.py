"""`sf bench`: end-to-end throughput and handoff latency of real worker processes, beside the raw
SKIP LOCKED floor measured on the same database in the same run."""

from sf_cli.bench.runner import BenchOptions, run_bench

__all__ = ["BenchOptions", "run_bench"]
