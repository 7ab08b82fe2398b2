#!/usr/bin/env python3
"""Drives bench/hosts.sh part 1 from the outside: one edit per second per host for DURATION
seconds, each timed from the write to the moment its row shows it (LISTEN
imi_worktree_state, then the row is read back through libpq). Prints p50/p99 across hosts,
rows written, connections per agent and each agent's CPU.
Usage: hosts_driver.py CONNINFO DURATION WORKDIR PID..."""
import os, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import connect, cpu_seconds, percentile, query, wait_for_notification  # noqa: E402


def host_rows(conninfo, host):
    conn = connect(conninfo)
    ids = query(conn, "SELECT w.id FROM worktrees w JOIN hosts h ON h.id = w.host_id "
                      "WHERE h.name = $1 AND w.active ORDER BY w.path", host)
    paths = [query(conn, "SELECT path FROM worktrees WHERE id = $1", i)[0] for i in ids]
    return list(zip(ids, paths))


def edit_loop(conninfo, host, rows, duration, offset, latencies, failures):
    listener, reader = connect(conninfo), connect(conninfo)
    query(listener, "LISTEN imi_worktree_state")
    start = time.monotonic() + offset
    for i in range(duration):
        worktree_id, path = rows[i % len(rows)]
        target = os.path.join(path, f"bench-{host}.txt")
        delay = start + i - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        began = time.monotonic()
        if os.path.exists(target):
            os.remove(target)
            expected = "0"
        else:
            with open(target, "w") as handle:
                handle.write("edit\n")
            expected = "1"
        deadline = began + 10
        while True:
            if query(reader, "SELECT uncommitted_files_count FROM worktrees WHERE id = $1", worktree_id) == [expected]:
                latencies.append(time.monotonic() - began)
                break
            if time.monotonic() > deadline or not wait_for_notification(listener, worktree_id, deadline - time.monotonic()):
                failures.append(f"{host}: edit {i} never reached the registry")
                break


def count_notified(conninfo, stop, counter):
    """Counts the row ids the agents notify on imi_worktree_state: every state they write."""
    import select
    from driver import notifications, pq
    conn = connect(conninfo)
    query(conn, "LISTEN imi_worktree_state")
    sock = pq.PQsocket(conn)
    while not stop.is_set():
        select.select([sock], [], [], 0.2)
        counter.extend(len(payload.split(",")) for payload in notifications(conn))


def main():
    conninfo, duration, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    pids = [int(p) for p in sys.argv[4:]]
    hosts = [f"h{n}" for n in range(len(pids))]
    admin = connect(conninfo)
    rows = {host: host_rows(conninfo, host) for host in hosts}
    counts = {host: len(r) for host, r in rows.items()}
    if any(c != 20 for c in counts.values()):
        sys.exit(f"bench: expected 20 worktrees per host, got {counts}")
    sessions = query(admin, "SELECT application_name || ':' || count(*) FROM pg_stat_activity "
                            "WHERE application_name LIKE 'imi-sync-h%' GROUP BY application_name ORDER BY 1")
    per_agent = sorted({int(s.split(":")[1]) for s in sessions})
    stop, notified = threading.Event(), []
    counter = threading.Thread(target=count_notified, args=(conninfo, stop, notified))
    counter.start()
    time.sleep(0.5)
    cpu_before = [cpu_seconds(pid) for pid in pids]
    latencies, failures, threads = [], [], []
    began = time.monotonic()
    for n, host in enumerate(hosts):
        thread = threading.Thread(target=edit_loop, args=(conninfo, host, rows[host], duration,
                                                          n / len(hosts), latencies, failures))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    cpu_after = [cpu_seconds(pid) for pid in pids]
    time.sleep(0.5)
    stop.set()
    counter.join()
    if failures:
        sys.exit("bench: " + "; ".join(failures[:5]))
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(f"   {len(latencies)} edits over {elapsed:.0f} s by {len(hosts)} hosts")
    print(f"edit -> row p50: {p50:6.1f} ms   (target <= 150 ms)")
    print(f"edit -> row p99: {p99:6.1f} ms   (target <= 400 ms)")
    print(f"rows written (state changes the agents notified): {sum(notified)} in {len(notified)} NOTIFYs"
          f" for {len(latencies)} edits")
    print(f"PostgreSQL connections per agent: {', '.join(map(str, per_agent))}"
          "   (target: 1, shared by writes, LISTEN and the host's mcp sessions)")
    cpu = [(a - b) / elapsed * 100 for a, b in zip(cpu_after, cpu_before)]
    print("agent CPU during the edits: " + ", ".join(f"{c:.1f}%" for c in cpu)
          + f"   (mean {sum(cpu) / len(cpu):.1f}% of one core)")


if __name__ == "__main__":
    main()
