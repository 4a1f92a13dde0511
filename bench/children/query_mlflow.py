"""Child: the last N hours of traces through MLflow's own search APIs (warm, in one process)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mlflow
from common import emit
from mlflow import MlflowClient


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--experiment-id", required=True)
    parser.add_argument("--hours", type=float, required=True)
    parser.add_argument("--repeats", type=int, required=True)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--cold", action="store_true", help="one listing, no warm-up, then exit")
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    client = MlflowClient(args.tracking_uri)
    locations = [args.experiment_id]
    order = ["timestamp_ms DESC"]

    def window() -> str:
        return f"timestamp_ms > {int((time.time() - args.hours * 3600) * 1000)}"

    def page_all() -> int:
        """Every trace of the window, page by page, without span bodies (a listing)."""
        token: str | None = None
        seen = 0
        while True:
            page = client.search_traces(
                locations=locations,
                filter_string=window(),
                max_results=args.page_size,
                order_by=order,
                page_token=token,
                include_spans=False,
            )
            seen += len(page)
            token = page.token
            if not token:
                return seen

    def newest_100() -> int:
        """The newest 100 with their spans, as the DataFrame `mlflow.search_traces` returns."""
        frame = mlflow.search_traces(
            locations=locations, filter_string=window(), max_results=100, order_by=order
        )
        return len(frame)

    if args.cold:
        emit({"found": page_all()})
        return
    results: dict[str, dict[str, object]] = {}
    queries: dict[str, Callable[[], int]] = {"page_all": page_all, "newest_100": newest_100}
    for name, query in queries.items():
        query()  # warm: the first call pays lazy imports and sqlite page cache
        times, found = [], 0
        for _ in range(args.repeats):
            start = time.perf_counter()
            found = query()
            times.append(time.perf_counter() - start)
        results[name] = {"times": times, "found": found}
    emit(results)


if __name__ == "__main__":
    main()
