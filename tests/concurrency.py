"""Running calls against the real database at the same instant, from threads."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released at the same instant; return what they returned, in
    order. Each thread closes its own database connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
