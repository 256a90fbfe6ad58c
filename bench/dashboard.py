"""The dashboard's figures: `orchestra serve` over a project of 1,000 tasks, timed over HTTP.

  GET /api/tasks (the queue) and GET / (the page): the first request after the server
  started (the project's scan cache left by a `status`), then the median and the slowest of 20;
  20 clients on /api/events: how long until every one has a transition made by `start`;
  the server's CPU over 10 s with those 20 clients connected and nothing happening.

Run alone (`python3 bench/dashboard.py`) or as a section of bench.py.
"""

import http.client
import json
import os
import random
import subprocess
import tempfile
import threading
import time

from bench import _cpu_share, add_history, bench_env, make_project, median, py  # bench/bench.py

TASKS = 1000
CLIENTS = 20
ROUNDS = 20


def measure_dashboard(tmp, env, idle_seconds=10.0):
    root, store = make_project(tmp, "dashboard")
    add_history(store, TASKS, random.Random(11), time.time())
    # As a project is met: a `status` has run in it and left its scan cache.
    subprocess.run(py("-m", "orchestra", "status"), cwd=root, env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen(py("-m", "orchestra", "serve", "--port", "0"), cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    streams = []
    try:
        url = proc.stdout.readline().strip().rpartition(" ")[2]
        port = int(url.split(":")[2].split("/")[0])
        token = url.rpartition("token=")[2]
        headers = {"Authorization": f"Bearer {token}"}

        def get(path):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            began = time.perf_counter()
            conn.request("GET", path, headers=headers)
            answer = conn.getresponse()
            body = answer.read()
            took = time.perf_counter() - began
            conn.close()
            assert answer.status == 200, (path, answer.status, body[:200])
            return took, body

        first, body = get("/api/tasks?w=0")
        assert len(json.loads(body)) == TASKS
        queue = [get("/api/tasks?w=0")[0] for _ in range(ROUNDS)]
        page_first = get("/")[0]
        page = [get("/")[0] for _ in range(ROUNDS)]

        got = [threading.Event() for _ in range(CLIENTS)]
        for event in got:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/api/events", headers=headers)
            answer = conn.getresponse()
            streams.append(conn)
            threading.Thread(target=_read, args=(answer, event), daemon=True).start()
        time.sleep(1.0)  # every stream open and idle before the transition
        began = time.perf_counter()
        subprocess.run(py("-m", "orchestra", "start", "-q", "noop", "bench"), cwd=root, env=env,
                       check=True, capture_output=True)
        for event in got:
            event.wait(10)
        fan_out = time.perf_counter() - began if all(e.is_set() for e in got) else None
        idle = _cpu_share(proc.pid, idle_seconds) if os.path.isdir("/proc/self") else None
        return {"tasks": TASKS, "queue_first_s": first, "queue_median_s": median(queue),
                "queue_max_s": max(queue), "page_first_s": page_first,
                "page_median_s": median(page), "page_max_s": max(page), "clients": CLIENTS,
                "fan_out_s": fan_out, "idle_cpu": idle, "idle_seconds": idle_seconds}
    finally:
        for conn in streams:
            conn.close()
        proc.terminate()
        proc.wait()


def _read(answer, event):
    try:
        for line in answer:
            if line.startswith(b"data: "):
                event.set()
                return
    except OSError:
        pass


def print_dashboard(d):
    def ms(s):
        return f"{s * 1000:.0f} ms"
    verdict = "PASS" if d["queue_max_s"] <= 0.2 and d["queue_first_s"] <= 0.2 else "FAIL"
    print(f"serve, GET /api/tasks of {d['tasks']:,} tasks: first {ms(d['queue_first_s'])}, "
          f"median {ms(d['queue_median_s'])}, slowest of {ROUNDS} {ms(d['queue_max_s'])}"
          f"  target <= 200 ms  {verdict}")
    verdict = "PASS" if d["page_max_s"] <= 0.2 else "FAIL"
    print(f"serve, GET / (the page): first {ms(d['page_first_s'])}, median "
          f"{ms(d['page_median_s'])}, slowest {ms(d['page_max_s'])}  target <= 200 ms  {verdict}")
    if d["fan_out_s"] is None:
        print(f"serve, {d['clients']} clients on /api/events: not all got the transition  FAIL")
    else:
        verdict = "PASS" if d["fan_out_s"] <= 1.0 else "FAIL"
        print(f"serve, {d['clients']} clients on /api/events: all had a `start`'s transition "
              f"{ms(d['fan_out_s'])} after it began  target <= 1 s  {verdict}")
    if d["idle_cpu"] is not None:
        verdict = "PASS" if d["idle_cpu"] < 0.01 else "FAIL"
        print(f"serve, idle with {d['clients']} clients connected: {d['idle_cpu'] * 100:.2f}% "
              f"of one core over {d['idle_seconds']:g} s  target < 1%  {verdict}")


if __name__ == "__main__":
    import platform
    import shutil
    print(f"{platform.platform()}   cpus {os.cpu_count()}")
    place = tempfile.mkdtemp(prefix="orchestra-bench-")
    try:
        print_dashboard(measure_dashboard(place, bench_env()))
    finally:
        shutil.rmtree(place, ignore_errors=True)
