"""One step of a load test, driven by Locust (run as a script, in its own process).

``python _loadgen.py SPEC.json`` reads the step (target, request bodies, users or a target
rate, warm-up and measured seconds) and prints one JSON object: requests and errors that
completed inside the measured window, latency percentiles over them, and this process's own
CPU time (so the caller can tell a saturated generator from a saturated server).

It runs by path, not as ``-m mainsail.serving._loadgen``: Locust patches the standard
library with gevent when it is imported, which must happen before anything else is loaded,
and importing ``mainsail.serving`` first would load the server's modules unpatched. It
imports nothing from Mainsail.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any


def _percentile(sorted_ms: list[float], q: float) -> float | None:
    """The nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_ms:
        return None
    k = max(0, min(len(sorted_ms) - 1, int(round(q * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[k]


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run_step(spec: dict[str, Any]) -> dict[str, Any]:
    import gevent
    from locust import FastHttpUser, constant, constant_throughput, task
    from locust.env import Environment

    bodies: list[str] = list(spec["bodies"])
    path: str = spec["path"]
    users = int(spec["users"])
    rate = spec.get("rate")
    warmup = float(spec["warmup_s"])
    duration = float(spec["duration_s"])
    headers = {"content-type": "application/json", **spec.get("headers", {})}

    window = {"start": float("inf"), "end": float("inf")}
    ok_ms: list[float] = []
    errors: dict[str, int] = {}
    sent = {"n": 0}

    class Client(FastHttpUser):
        host = spec["url"]
        network_timeout = float(spec.get("timeout_s", 10.0))
        connection_timeout = float(spec.get("timeout_s", 10.0))
        wait_time = constant_throughput(float(rate) / users) if rate else constant(0)

        @task
        def predict(self) -> None:
            i = sent["n"]
            sent["n"] = i + 1
            body = bodies[i % len(bodies)]
            with self.client.post(path, data=body, headers=headers, catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"HTTP {r.status_code}: {(r.text or '')[:200]}")

    def on_request(response_time: float, exception: BaseException | None = None, **_: Any) -> None:
        now = time.perf_counter()
        if not window["start"] <= now <= window["end"]:
            return
        if exception is not None:
            key = str(exception)[:200] or type(exception).__name__
            errors[key] = errors.get(key, 0) + 1
        else:
            ok_ms.append(float(response_time))

    env = Environment(user_classes=[Client])
    env.events.request.add_listener(on_request)
    runner = env.create_local_runner()
    cpu0 = time.process_time()
    runner.start(users, spawn_rate=max(users * 20, 100))
    gevent.sleep(warmup)
    _say("window-start")  # the caller measures the server's CPU between these two lines
    window["start"] = time.perf_counter()
    window["end"] = window["start"] + duration
    cpu_start = time.process_time()
    gevent.sleep(duration)
    cpu_used = time.process_time() - cpu_start
    window["end"] = min(window["end"], time.perf_counter())
    _say("window-end")
    elapsed = window["end"] - window["start"]
    runner.quit()
    ok_ms.sort()
    n = len(ok_ms)
    return {
        "users": users,
        "rate": rate,
        "requests": n,
        "errors": sum(errors.values()),
        "error_samples": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5]),
        "elapsed_s": elapsed,
        "p50_ms": _percentile(ok_ms, 0.50),
        "p90_ms": _percentile(ok_ms, 0.90),
        "p99_ms": _percentile(ok_ms, 0.99),
        "max_ms": ok_ms[-1] if n else None,
        "mean_ms": sum(ok_ms) / n if n else None,
        "generator_cpu_percent": 100.0 * cpu_used / elapsed if elapsed > 0 else None,
        "generator_cpu_total_s": time.process_time() - cpu0,
    }


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.ERROR)
    with open(argv[1]) as f:
        spec = json.load(f)
    _say(json.dumps(run_step(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
