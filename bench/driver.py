#!/usr/bin/env python3
"""Measures a running `imi-sync run` from the outside: edit->row and commit->hash latency
(LISTEN imi_worktree_state through libpq, then the row is read back), the probes and writes
one 1,000-file checkout causes (counted in the agent's debug log), idle CPU and RSS.
Values always travel as libpq parameters. Usage: driver.py CONNINFO PID LOG EDIT_ID EDIT_PATH
CHECKOUT_ID CHECKOUT_PATH IDLE_SECONDS LATE_PROJECT_ID LATE_PATH_PREFIX CODE_DIRECTORY"""
import ctypes, os, select, subprocess, sys, time

pq = ctypes.CDLL("libpq.so.5")
pq.PQconnectdb.restype = ctypes.c_void_p
pq.PQconnectdb.argtypes = [ctypes.c_char_p]
pq.PQstatus.argtypes = [ctypes.c_void_p]
pq.PQerrorMessage.restype = ctypes.c_char_p
pq.PQerrorMessage.argtypes = [ctypes.c_void_p]
pq.PQexecParams.restype = ctypes.c_void_p
pq.PQexecParams.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p,
                            ctypes.POINTER(ctypes.c_char_p), ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
pq.PQgetvalue.restype = ctypes.c_char_p
pq.PQgetvalue.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
pq.PQntuples.argtypes = [ctypes.c_void_p]
pq.PQgetisnull.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
pq.PQclear.argtypes = [ctypes.c_void_p]
pq.PQsocket.argtypes = [ctypes.c_void_p]
pq.PQconsumeInput.argtypes = [ctypes.c_void_p]
pq.PQnotifies.restype = ctypes.c_void_p
pq.PQnotifies.argtypes = [ctypes.c_void_p]
pq.PQfreemem.argtypes = [ctypes.c_void_p]


class PGnotify(ctypes.Structure):
    _fields_ = [("relname", ctypes.c_char_p), ("be_pid", ctypes.c_int), ("extra", ctypes.c_char_p)]


def connect(conninfo):
    conn = pq.PQconnectdb(conninfo.encode())
    if pq.PQstatus(conn) != 0:
        sys.exit("bench: cannot connect: " + pq.PQerrorMessage(conn).decode())
    return conn


def query(conn, sql, *params):
    values = (ctypes.c_char_p * max(1, len(params)))(*[p.encode() for p in params])
    result = pq.PQexecParams(conn, sql.encode(), len(params), None, values, None, None, 0)
    rows = []
    for row in range(pq.PQntuples(result)):
        rows.append(None if pq.PQgetisnull(result, row, 0) else pq.PQgetvalue(result, row, 0).decode())
    pq.PQclear(result)
    return rows


def notifications(conn):
    """The payloads of every NOTIFY that has arrived on `conn`, read now (the one loop over
    PQnotifies the drivers share)."""
    pq.PQconsumeInput(conn)
    payloads = []
    while True:
        pointer = pq.PQnotifies(conn)
        if not pointer:
            return payloads
        payloads.append(ctypes.cast(pointer, ctypes.POINTER(PGnotify)).contents.extra.decode())
        pq.PQfreemem(pointer)


def wait_for_notification(conn, worktree_id, timeout=10.0):
    deadline = time.monotonic() + timeout
    sock = pq.PQsocket(conn)
    while time.monotonic() < deadline:
        if any(worktree_id in payload.split(",") for payload in notifications(conn)):
            return True
        select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
    return False


def percentile(values, fraction):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))
    return ordered[index]


def git(path, *arguments):
    subprocess.run(["git", "-C", path, *arguments], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def count_lines(log, word, worktree_id):
    count = 0
    for line in open(log, errors="replace"):
        if f" {word} " in line or line.rstrip().endswith(f" {word}") or f": {word} " in line:
            if worktree_id in line:
                count += 1
    return count


def main():
    conninfo, pid, log, edit_id, edit_path, checkout_id, checkout_path, idle = sys.argv[1:9]
    late_project, late_prefix, code = sys.argv[9:12]
    pid, idle = int(pid), int(idle)
    listener, reader = connect(conninfo), connect(conninfo)
    query(listener, "LISTEN imi_worktree_state")

    # Edit -> row: each edit adds an untracked file, so the row's count must reach i + 1.
    base = int(query(reader, "SELECT uncommitted_files_count FROM worktrees WHERE id = $1", edit_id)[0])
    latencies = []
    for i in range(60):
        start = time.monotonic()
        with open(os.path.join(edit_path, f"bench-edit-{i}.txt"), "w") as handle:
            handle.write(f"edit {i}\n")
        if not wait_for_notification(listener, edit_id):
            sys.exit(f"bench: edit {i} never reached the registry")
        latencies.append((time.monotonic() - start) * 1000)
        stored = int(query(reader, "SELECT uncommitted_files_count FROM worktrees WHERE id = $1", edit_id)[0])
        if stored != base + i + 1:
            sys.exit(f"bench: after edit {i} the row says {stored}, expected {base + i + 1}")
        time.sleep(0.1)
    print(f"edit -> row updated ({len(latencies)} edits): p50 {percentile(latencies, 0.5):.0f} ms, "
          f"p99 {percentile(latencies, 0.99):.0f} ms, max {max(latencies):.0f} ms  (target p50 <= 30, p99 <= 100)")

    # Commit -> hash, timed from the moment `git commit` has returned.
    commits = []
    for i in range(10):
        with open(os.path.join(edit_path, f"bench-commit-{i}.txt"), "w") as handle:
            handle.write(f"commit {i}\n")
        git(edit_path, "add", "-A")
        git(edit_path, "commit", "--quiet", "-m", f"bench commit {i}")
        start = time.monotonic()
        head = subprocess.run(["git", "-C", edit_path, "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
        deadline = start + 10
        while time.monotonic() < deadline:
            if query(reader, "SELECT last_commit_hash FROM worktrees WHERE id = $1", edit_id)[0] == head:
                break
            wait_for_notification(listener, edit_id, timeout=0.5)
        else:
            sys.exit(f"bench: commit {i} never reached the registry")
        commits.append((time.monotonic() - start) * 1000)
        time.sleep(0.1)
    print(f"commit -> new hash in the row ({len(commits)} commits): p50 {percentile(commits, 0.5):.0f} ms, "
          f"max {max(commits):.0f} ms  (target <= 500)")

    # A worktree registered while the agent runs: LISTEN tells it, it watches and syncs it.
    registered = []
    for i in range(1, 6):
        start = time.monotonic()
        new_id = query(reader, """INSERT INTO worktrees (project_id, type_id, name, branch_name, path)
            VALUES ($1, (SELECT id FROM worktree_types WHERE name = 'feat'), $2, $3, $4) RETURNING id""",
                       late_project, f"feat-late{i}", f"feat/late{i}", f"{late_prefix}{i}")[0]
        deadline = start + 10
        while query(reader, "SELECT last_commit_hash FROM worktrees WHERE id = $1", new_id)[0] is None:
            if time.monotonic() > deadline:
                sys.exit("bench: a registered worktree was never synced")
            wait_for_notification(listener, new_id, timeout=0.5)
        registered.append((time.monotonic() - start) * 1000)
    print(f"worktree registered -> synced ({len(registered)} worktrees): p50 {percentile(registered, 0.5):.0f} ms, "
          f"max {max(registered):.0f} ms  (target <= 2000)")

    # One 1,000-file checkout.
    time.sleep(1.0)
    probes_before = count_lines(log, "probed", checkout_id)
    writes_before = count_lines(log, "wrote", checkout_id)
    git(checkout_path, "checkout", "--quiet", "bulk")
    head = subprocess.run(["git", "-C", checkout_path, "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    deadline = time.monotonic() + 20
    while query(reader, "SELECT last_commit_hash FROM worktrees WHERE id = $1", checkout_id)[0] != head:
        if time.monotonic() > deadline:
            sys.exit("bench: the checkout never reached the registry")
        time.sleep(0.02)
    time.sleep(3.0)  # let any trailing probe happen before counting
    probes = count_lines(log, "probed", checkout_id) - probes_before
    writes = count_lines(log, "wrote", checkout_id) - writes_before
    print(f"1,000-file checkout: {probes} probes, {writes} writes for that worktree  (target <= 2 writes)")

    # Merged and pushed -> out of the in-flight view: a feature worktree with a commit of its
    # own is listed as ahead; trunk merges it (--no-ff) and pushes; timed from the push's return.
    merged = []
    for p in range(4, 9):
        trunk, feature = f"{code}/p{p:02d}/trunk-main", f"{code}/p{p:02d}/feat-w1"
        feature_id = query(reader, "SELECT id FROM worktrees WHERE path = $1", feature)[0]
        with open(os.path.join(feature, "merge-me.txt"), "w") as handle:
            handle.write("finished work\n")
        git(feature, "add", "-A")
        git(feature, "commit", "--quiet", "-m", "finished work")
        deadline = time.monotonic() + 10
        while query(reader, "SELECT status FROM v_inflight_work WHERE worktree_id = $1", feature_id) != ["ahead"]:
            if time.monotonic() > deadline:
                sys.exit("bench: the feature commit never made the worktree in flight")
            time.sleep(0.02)
        git(trunk, "merge", "--quiet", "--no-ff", "-m", "merge w1", "feat/w1")
        git(trunk, "push", "--quiet", "origin", "main")
        start = time.monotonic()
        deadline = start + 10
        while query(reader, "SELECT status FROM v_inflight_work WHERE worktree_id = $1", feature_id):
            if time.monotonic() > deadline:
                sys.exit("bench: the merged worktree never left the in-flight view")
            time.sleep(0.01)
        merged.append((time.monotonic() - start) * 1000)
    print(f"merged and pushed -> out of the in-flight view ({len(merged)} worktrees): "
          f"p50 {percentile(merged, 0.5):.0f} ms, max {max(merged):.0f} ms  (target <= 2000)")

    # Idle: nothing changes for `idle` seconds.
    time.sleep(5)
    before = cpu_seconds(pid)
    time.sleep(idle)
    used = cpu_seconds(pid) - before
    watched = query(reader, "SELECT count(*) FROM worktrees WHERE active")[0]
    print(f"idle CPU over {idle} s with {watched} worktrees watched: {used:.2f} s  (target <= 0.1 s)")
    print(f"RSS with {watched} worktrees: {status_kb(pid, 'VmRSS') / 1024:.1f} MB "
          f"(anonymous {status_kb(pid, 'RssAnon') / 1024:.1f} MB, peak {status_kb(pid, 'VmHWM') / 1024:.1f} MB)"
          f"  (target <= 40 MB)")


if __name__ == "__main__":
    main()
