#!/usr/bin/env python3
"""Drives bench/serve.sh from the outside: CLIENTS event streams (GET /events, raw sockets read
by one selector thread) held open against a running `imi-sync serve` while RATE edits a second
land round-robin across the agent's worktrees for DURATION seconds. Each edit is a new
untracked file (a new state the agent must write), timed from just before the write to
  - the row: the NOTIFY imi_worktree_state naming the worktree on a direct LISTEN (the
    agent's transaction has committed; the rows are checked at the end), and
  - each client: the first `event: state` whose ids hold the worktree (PAGE=1: the first
    `event: patch` whose in-flight upserts hold it; those streams ask for patches only).
An edit a client never saw before the next edit of that worktree (or the end plus a grace
period) is lost. The server's and the agent's CPU come from /proc/PID/stat (utime+stime)
over the edits, memory from /proc/PID/status (sampled every 0.5 s).
Standard library only (libpq through ctypes, as bench/driver.py).
Usage: serve_driver.py CONNINFO BASE_URL SERVE_PID AGENT_PID DURATION CLIENTS RATE IDLE"""
import bisect, http.client, json, os, select, sys, threading, time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import connect, cpu_seconds, notifications, percentile, pq, query, status_kb  # noqa: E402
from serve_clients import Page, open_streams, read_streams  # noqa: E402

GRACE = 3.0  # seconds after the last edit during which its events still count


def listen_rows(conninfo, stop, notified):
    """Every NOTIFY imi_worktree_state as (arrival time, ids)."""
    conn = connect(conninfo)
    query(conn, "LISTEN imi_worktree_state")
    sock = pq.PQsocket(conn)
    while not stop.is_set():
        select.select([sock], [], [], 0.2)
        now = time.monotonic()
        for payload in notifications(conn):
            notified.append((now, frozenset(p.split(":")[-1] for p in payload.split(","))))


def sample_memory(pid, stop, peaks):
    while not stop.is_set():
        try:
            peaks["rss"] = max(peaks["rss"], status_kb(pid, "VmRSS"))
            peaks["anon"] = max(peaks["anon"], status_kb(pid, "RssAnon"))
        except OSError:
            return
        stop.wait(0.5)


def first_after(arrivals, worktree_id, start, end):
    """The first arrival in [start, end) whose ids hold worktree_id; arrivals is (times, ids)
    sorted by time."""
    times, ids = arrivals
    for index in range(bisect.bisect_left(times, start), len(times)):
        if times[index] >= end:
            return None
        if worktree_id in ids[index]:
            return times[index]
    return None


def get_json(base, path, token):
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        sys.exit(f"bench: GET {path} answered {response.status}: {body[:200]!r}")
    return json.loads(body)


def fmt(values, fraction):
    return f"{percentile(values, fraction):.1f}" if values else "n/a"


def main():
    conninfo, base, serve_pid, agent_pid, duration, clients, rate, idle = sys.argv[1:9]
    serve_pid, agent_pid, duration, clients = int(serve_pid), int(agent_pid), float(duration), int(clients)
    rate, idle = float(rate), float(idle)
    token = os.environ.get("SERVE_TOKEN")
    page_mode = os.environ.get("PAGE") == "1"
    parts = urlsplit(base)
    address = (parts.hostname, parts.port)

    reader = connect(conninfo)
    rows = [(i, query(reader, "SELECT path FROM worktrees WHERE id = $1", i)[0])
            for i in query(reader, "SELECT id FROM worktrees WHERE active ORDER BY path")]
    if not rows:
        sys.exit("bench: no active worktrees in the registry")
    count_sql = "SELECT uncommitted_files_count FROM worktrees WHERE id = $1"
    base_counts = {i: int(query(reader, count_sql, i)[0] or 0) for i, _ in rows}
    inflight_before = len(get_json(base, "/api/inflight", token)["inflight"])

    # The streams, then the LISTEN and the memory sampler.
    stop = threading.Event()
    streams = open_streams(address, clients, token, "/events?patches=1" if page_mode else "/events")
    page_threads = []
    if page_mode:
        for stream in streams:
            stream.page = Page(address, token)
            page_threads.append(threading.Thread(target=stream.page.run, args=(stop,), daemon=True))
            page_threads[-1].start()
    stream_thread = threading.Thread(target=read_streams, args=(streams, stop), daemon=True)
    stream_thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(s.connected or s.closed or (s.status or 200) != 200
                                                  for s in streams):
        time.sleep(0.05)
    refused = [s for s in streams if s.status != 200 or not s.connected]
    if refused:
        statuses = sorted({str(s.status) for s in refused})
        print(f"   {len(refused)} of {clients} streams refused or not connected (status {', '.join(statuses)})")
    live = [s for s in streams if s not in refused]
    if not live:
        sys.exit("bench: no event stream connected")
    notified, peaks = [], {"rss": 0, "anon": 0}
    listener = threading.Thread(target=listen_rows, args=(conninfo, stop, notified), daemon=True)
    sampler = threading.Thread(target=sample_memory, args=(serve_pid, stop, peaks), daemon=True)
    listener.start()
    sampler.start()
    time.sleep(0.5)
    print(f"   {len(live)} event streams open; {len(rows)} worktrees; {inflight_before} rows in /api/inflight")

    # The page's two reads alone, one at a time, before any load: what one refresh costs.
    single = {}
    for path in ("/api/inflight", "/api/overlaps"):
        times = []
        for _ in range(20):
            started = time.monotonic()
            get_json(base, path, token)
            times.append((time.monotonic() - started) * 1000)
        single[path] = times
    # serve's PostgreSQL backends (its role: the reader and the listener): their CPU is the reads' cost.
    backends = [int(p) for p in query(reader, "SELECT pid FROM pg_stat_activity WHERE usename = 'imi_sync_serve'")]

    # Idle: the streams open, nothing written.
    idle_cpu = 0.0
    if idle > 0:
        before = cpu_seconds(serve_pid)
        time.sleep(idle)
        idle_cpu = (cpu_seconds(serve_pid) - before) / idle * 100
    rss_idle, anon_idle = status_kb(serve_pid, "VmRSS"), status_kb(serve_pid, "RssAnon")

    # The edits: RATE a second, round-robin, each a new untracked file.
    total = int(duration * rate)
    edits = []  # (worktree id, write time)
    serve_before, agent_before, own_before = cpu_seconds(serve_pid), cpu_seconds(agent_pid), time.process_time()
    backends_before = sum(cpu_seconds(p) for p in backends)
    began = time.monotonic()
    for n in range(total):
        delay = began + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        worktree_id, path = rows[n % len(rows)]
        written = time.monotonic()
        with open(os.path.join(path, f"bench-serve-{n}.txt"), "w") as handle:
            handle.write(f"edit {n} at {time.time():.6f}\n")
        edits.append((worktree_id, written))
    lag = time.monotonic() - (began + (total - 1) / rate)
    window_end = began + duration
    time.sleep(max(0.0, window_end - time.monotonic()))
    elapsed = time.monotonic() - began
    serve_cpu = (cpu_seconds(serve_pid) - serve_before) / elapsed * 100
    agent_cpu = (cpu_seconds(agent_pid) - agent_before) / elapsed * 100
    own_cpu = (time.process_time() - own_before) / elapsed * 100
    backend_cpu = (sum(cpu_seconds(p) for p in backends) - backends_before) / elapsed * 100
    end = time.monotonic() + GRACE
    time.sleep(GRACE)
    stop.set()
    for s in streams:
        if s.page:
            s.page.wake()
    stream_thread.join()
    for thread in page_threads:
        thread.join()
    listener.join()
    sampler.join()
    rss_end, anon_end = status_kb(serve_pid, "VmRSS"), status_kb(serve_pid, "RssAnon")

    # Match every edit with the row's NOTIFY and each client's event, within the window up to
    # the next edit of the same worktree.
    next_edit = {}
    windows = []
    for worktree_id, written in reversed(edits):
        windows.append((worktree_id, written, next_edit.get(worktree_id, end)))
        next_edit[worktree_id] = written
    windows.reverse()
    notified.sort(key=lambda item: item[0])
    notified = ([when for when, _ in notified], [ids for _, ids in notified])
    row_ms, event_ms, extra_ms, rows_lost = [], [], [], 0
    per_client = {}
    lost = 0
    for s in live:
        state = [(when, ids) for when, kind, ids in s.events if kind in ("state", "patch")]
        per_client[s.index] = ([when for when, _ in state], [ids for _, ids in state])
    for worktree_id, written, until in windows:
        row = first_after(notified, worktree_id, written, until)
        if row is None:
            rows_lost += 1
        else:
            row_ms.append((row - written) * 1000)
        for s in live:
            seen = first_after(per_client[s.index], worktree_id, written, until)
            if seen is None:
                lost += 1
                continue
            event_ms.append((seen - written) * 1000)
            if row is not None:
                extra_ms.append((seen - row) * 1000)

    counts_ok = sum(1 for i, _ in rows if int(query(reader, count_sql, i)[0] or 0)
                    == base_counts[i] + sum(1 for w, _ in edits if w == i))
    inflight_after = len(get_json(base, "/api/inflight", token)["inflight"])
    closed = sum(1 for s in live if s.closed)
    state_events = [sum(1 for _, kind, _ in s.events if kind == "state") for s in live]
    patch_events = [sum(1 for _, kind, _ in s.events if kind == "patch") for s in live]
    registry_events = [sum(1 for _, kind, _ in s.events if kind == "registry") for s in live]
    keepalives = [s.keepalives for s in live]

    page_ms, page_lost = [], 0
    if page_mode:
        expected, made = [], {}
        for worktree_id, written in edits:
            made[worktree_id] = made.get(worktree_id, 0) + 1
            expected.append((worktree_id, written, base_counts[worktree_id] + made[worktree_id]))
        for s in live:
            times = [when for when, _ in s.page.renders]
            for worktree_id, written, count in expected:
                for index in range(bisect.bisect_left(times, written), len(times)):
                    if s.page.renders[index][1].get(worktree_id, -1) >= count:
                        page_ms.append((times[index] - written) * 1000)
                        break
                else:
                    page_lost += 1
    pairs = len(edits) * len(live)
    print(f"   {len(edits)} edits over {elapsed:.1f} s ({len(edits) / elapsed:.1f}/s, writer lag at the end "
          f"{lag * 1000:.0f} ms) across {len(rows)} worktrees; {len(live)} clients = {pairs} edit-client pairs")
    print(f"   rows matching every edit at the end: {counts_ok} of {len(rows)}; /api/inflight rows "
          f"{inflight_before} before, {inflight_after} after")
    print(f"   per client: {min(state_events)}-{max(state_events)} state events, "
          f"{min(registry_events)}-{max(registry_events)} registry events, "
          f"{min(patch_events)}-{max(patch_events)} patches, "
          f"{min(keepalives)}-{max(keepalives)} keep-alives; {closed} streams closed by the server; "
          f"{len(notified[0])} NOTIFYs seen by the driver's LISTEN")
    print(f"edit -> row (NOTIFY on a direct LISTEN), {len(row_ms)} edits: p50 {fmt(row_ms, 0.5)} ms, "
          f"p99 {fmt(row_ms, 0.99)} ms, max {max(row_ms) if row_ms else 0:.1f} ms; {rows_lost} never notified")
    print(f"edit -> event at the clients, {len(event_ms)} of {pairs}: p50 {fmt(event_ms, 0.5)} ms, "
          f"p99 {fmt(event_ms, 0.99)} ms, max {max(event_ms) if event_ms else 0:.1f} ms  (target p50 <= 250 ms)")
    if event_ms:
        ratio = percentile(event_ms, 0.5) / 250
        print(f"   p50 / target: {ratio:.2f}" + ("" if ratio <= 1 else "  -- NOT MET"))
    print(f"event after the row (same edit, same client): p50 {fmt(extra_ms, 0.5)} ms, p99 {fmt(extra_ms, 0.99)} ms")
    if page_mode:
        requests = sum(s.page.requests for s in live)
        errors = sum(s.page.errors for s in live)
        renders = sum(len(s.page.renders) for s in live)
        gaps = sum(s.page.gaps for s in live)
        print(f"   page model: {renders} renders, {requests} API requests ({requests / (elapsed + GRACE):.0f}/s), "
              f"{errors} failed snapshot reads, {gaps} gaps (patch not following: snapshot read again)")
        print(f"edit -> data in the page (its patched snapshot shows the edit), {len(page_ms)} of {pairs}: "
              f"p50 {fmt(page_ms, 0.5)} ms, p99 {fmt(page_ms, 0.99)} ms, max {max(page_ms) if page_ms else 0:.1f} ms; "
              f"{page_lost} never shown  (target p50 <= 250 ms)")
        if page_ms:
            ratio = percentile(page_ms, 0.5) / 250
            print(f"   p50 / target: {ratio:.2f}" + ("" if ratio <= 1 else "  -- NOT MET"))
    print(f"events lost (an edit a client never saw): {lost} of {pairs} ({lost / pairs * 100:.2f}%)  (target 0)")
    print(f"server CPU over the edits: {serve_cpu:.2f}% of one core  (target <= 5%; ratio {serve_cpu / 5:.2f})"
          + ("" if serve_cpu <= 5 else "  -- NOT MET"))
    print(f"server CPU idle with {len(live)} streams open ({idle:.0f} s): {idle_cpu:.2f}% of one core")
    print(f"server memory: VmRSS {rss_idle / 1024:.1f} MB idle, {rss_end / 1024:.1f} MB after, peak "
          f"{peaks['rss'] / 1024:.1f} MB; RssAnon {anon_idle / 1024:.1f} / {anon_end / 1024:.1f} / "
          f"{peaks['anon'] / 1024:.1f} MB")
    print("one read alone (20 each, before the edits): " + ", ".join(
        f"{path} p50 {fmt(times, 0.5)} ms" for path, times in single.items()))
    print(f"serve's PostgreSQL backends ({len(backends)}) CPU over the edits: {backend_cpu:.2f}% of one core")
    print(f"agent CPU over the edits (context): {agent_cpu:.2f}% of one core; this driver: {own_cpu:.2f}%")
    if rows_lost or lost or counts_ok != len(rows):
        sys.exit(1 if os.environ.get("STRICT") == "1" else 0)


if __name__ == "__main__":
    main()
