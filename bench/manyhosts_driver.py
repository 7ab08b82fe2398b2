#!/usr/bin/env python3
"""Drives bench/manyhosts.sh: starts one `imi-sync run` per host, waits for their first sync,
then for DURATION seconds opens `imi-sync mcp` sessions (the official Python MCP client, so it
runs from the project's .venv) that call registry_stats / list_inflight_work in turn, while
edits go round the hosts' worktrees, each timed from the write to the moment its row shows it
(LISTEN imi_worktree_state on a direct connection, then the row read back, as hosts_driver.py).
Meanwhile pg_stat_activity is sampled every half second: client backends per role.
Hosts or sessions that fail are counted, never fatal. Prints a report and writes
WORK/summary.json.  Usage: manyhosts_driver.py CONFIG.json
CONFIG: binary, agent_url, mcp_url, admin_url (a direct superuser conninfo), work, hosts
[{name, root}], worktrees (per host), sessions [host name per session], duration,
sync_timeout, edit_rate (edits/s over all hosts), session_interval (s), bouncer_admin (or null)."""
import asyncio, json, os, select, signal, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import connect, notifications, percentile, pq, query  # noqa: E402

AGENT_ROLE, MCP_ROLE = "imi_sync_agent", "imi_sync_mcp"
REFUSALS = {
    "slots reserved": "remaining connection slots are reserved",
    "too many clients": "too many clients already",
    "no more connections (pgbouncer)": "no more connections allowed",
    "unreachable": "unreachable",
}


def memory_kb(pid):
    """(VmRSS, RssAnon) in kB from /proc/PID/status, or None once it has gone."""
    try:
        fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    except OSError:
        return None
    kb = lambda key: int(fields.get(key, "0 kB").split()[0])  # noqa: E731
    return kb("VmRSS"), kb("RssAnon")


def children_named(parent, name):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if int(rest[1]) == parent and comm.startswith(name):
            pids.append(int(entry))
    return pids


class Sampler(threading.Thread):
    """Client backends per role, every half second, on one direct superuser connection."""

    def __init__(self, admin_url, bouncer_admin):
        super().__init__(daemon=True)
        self.conn, self.bouncer_admin = connect(admin_url), bouncer_admin
        self.stop, self.peak, self.peak_total, self.waiting_peak = threading.Event(), {}, 0, 0

    def run(self):
        last_bouncer = 0.0
        while not self.stop.is_set():
            rows = query(self.conn, "SELECT coalesce(usename, '-') || ':' || count(*) FROM pg_stat_activity "
                                    "WHERE backend_type = 'client backend' GROUP BY usename")
            total = 0
            for row in rows:
                role, count = row.rsplit(":", 1)
                self.peak[role] = max(self.peak.get(role, 0), int(count))
                total += int(count)
            self.peak_total = max(self.peak_total, total)
            if self.bouncer_admin and time.monotonic() - last_bouncer > 2:
                last_bouncer = time.monotonic()
                for pool in bouncer(self.bouncer_admin, "SHOW POOLS"):
                    self.waiting_peak = max(self.waiting_peak, int(pool.get("cl_waiting", 0)))
            self.stop.wait(0.5)


def bouncer(admin, command):
    """The PgBouncer admin console answers the simple query protocol only: psql --csv."""
    try:
        out = subprocess.run(["psql", "-X", "-q", "--csv", "-d", admin, "-c", command], capture_output=True,
                             text=True, timeout=10).stdout.splitlines()
    except subprocess.TimeoutExpired:
        return []
    if not out:
        return []
    header = out[0].split(",")
    return [dict(zip(header, line.split(","))) for line in out[1:]]


class Edits:
    """Edits round the hosts' worktrees at RATE per second; a LISTEN on a direct connection
    and a read of the row time each one (a row still unchanged after 15 s is a failure)."""

    def __init__(self, admin_url, targets, rate):
        self.admin_url, self.targets, self.rate = admin_url, targets, rate
        self.pending, self.lock = {}, threading.Lock()
        self.latencies, self.failures, self.stop = [], [], threading.Event()

    def writer(self, duration):
        began, n = time.monotonic(), 0
        while time.monotonic() - began < duration and self.targets:
            host, worktree_id, path = self.targets[n % len(self.targets)]
            delay = began + n / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            n += 1
            with self.lock:
                if worktree_id in self.pending:
                    continue
            target = os.path.join(path, "bench-edit.txt")
            if os.path.exists(target):
                os.remove(target)
                expected = "0"
            else:
                with open(target, "w") as handle:
                    handle.write("edit\n")
                expected = "1"
            with self.lock:
                self.pending[worktree_id] = (time.monotonic(), expected, host)

    def listener(self):
        listen, reader = connect(self.admin_url), connect(self.admin_url)
        query(listen, "LISTEN imi_worktree_state")
        sock, last_sweep = pq.PQsocket(listen), time.monotonic()
        while not (self.stop.is_set() and not self.pending):
            select.select([sock], [], [], 0.05)
            notified = set()
            for payload in notifications(listen):
                notified.update(payload.split(","))
            with self.lock:
                candidates = [i for i in self.pending if i in notified]
                if time.monotonic() - last_sweep > 1:  # a NOTIFY missed: read every pending row
                    candidates, last_sweep = list(self.pending), time.monotonic()
            for worktree_id in candidates:
                stored = query(reader, "SELECT uncommitted_files_count FROM worktrees WHERE id = $1", worktree_id)
                now = time.monotonic()
                with self.lock:
                    began, expected, host = self.pending[worktree_id]
                    if stored == [expected]:
                        self.latencies.append(now - began)
                        del self.pending[worktree_id]
                    elif now - began > 15:
                        self.failures.append(host)
                        del self.pending[worktree_id]
            if self.stop.is_set():
                with self.lock:
                    for worktree_id, (began, _, host) in list(self.pending.items()):
                        if time.monotonic() - began > 15:
                            self.failures.append(host)
                            del self.pending[worktree_id]


async def session(config, host, deadline, record):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    parameters = StdioServerParameters(
        command=config["binary"],
        # The host's own configuration, as on a real host: the session goes through its agent.
        args=["mcp", "--database-url", config["agent_url"], "--config", "/dev/null", "--host", host],
        env={"PATH": "/usr/bin:/bin", "HOME": os.path.join(config["work"], "mcp-home")})
    record.update(started=False, ok=0, failed=0, errors=[])
    tools, turn = ["registry_stats", "list_inflight_work"], 0
    try:
        with open(os.path.join(config["work"], f"mcp-{host}-{id(record)}.err"), "w") as errors:
            async with stdio_client(parameters, errlog=errors) as (read, write):
                async with ClientSession(read, write) as client:
                    await asyncio.wait_for(client.initialize(), 60)
                    record["started"] = True
                    while time.monotonic() < deadline:
                        tool = tools[turn % 2]
                        turn += 1
                        try:
                            result = await asyncio.wait_for(client.call_tool(tool, {}), 60)
                            if result.isError:
                                record["failed"] += 1
                                text = "".join(p.text for p in result.content if getattr(p, "type", "") == "text")
                                record["errors"].append(f"{tool}: {text[:160]}")
                            else:
                                record["ok"] += 1
                        except Exception as error:  # a timeout or a closed pipe: the session failed
                            record["failed"] += 1
                            record["errors"].append(f"{tool}: {type(error).__name__} {error}"[:160])
                            break
                        await asyncio.sleep(config["session_interval"])
    except BaseException as error:  # the server exited, or initialize never answered
        record["errors"].append(f"session: {type(error).__name__} {error}"[:160])


async def sessions(config, deadline, records):
    tasks = []
    for n, host in enumerate(config["sessions"]):
        record = {}
        records.append(record)
        tasks.append(asyncio.create_task(session(config, host, deadline, record)))
        await asyncio.sleep(0.05)
    await asyncio.gather(*tasks, return_exceptions=True)


def main():
    config = json.load(open(sys.argv[1]))
    work, hosts, worktrees = config["work"], config["hosts"], config["worktrees"]
    os.makedirs(os.path.join(work, "mcp-home"), exist_ok=True)
    sampler = Sampler(config["admin_url"], config.get("bouncer_admin"))
    sampler.start()

    agents, logs = {}, {}
    started = time.monotonic()
    for host in hosts:
        name = host["name"]
        home = os.path.join(work, "homes", name)
        os.makedirs(home, exist_ok=True)
        logs[name] = os.path.join(work, "logs", f"{name}.log")
        os.makedirs(os.path.dirname(logs[name]), exist_ok=True)
        environment = {"PATH": "/usr/bin:/bin", "HOME": home, "IMI_SYSTEM_PATHS": host["root"],
                       "PGAPPNAME": f"imi-sync-{name}"}
        agents[name] = subprocess.Popen(
            [config["binary"], "run", "--host", name, "--database-url", config["agent_url"], "--config", "/dev/null",
             "--log-level", "notice"],
            env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(logs[name], "w"))
        time.sleep(0.02)
    print(f"   {len(agents)} agents started in {time.monotonic() - started:.1f} s")

    synced, deadline = set(), time.monotonic() + config["sync_timeout"]
    while time.monotonic() < deadline:
        for name, process in agents.items():
            if name not in synced and "first full sync done" in open(logs[name], errors="replace").read():
                synced.add(name)
        if len(synced) + sum(1 for n, p in agents.items() if n not in synced and p.poll() is not None) == len(agents):
            break
        time.sleep(0.5)
    print(f"   {len(synced)} of {len(agents)} agents logged their first full sync within "
          f"{time.monotonic() - started:.0f} s; {sum(p.poll() is not None for p in agents.values())} had exited")

    admin = connect(config["admin_url"])
    targets = []
    for row in query(admin, "SELECT h.name || '|' || w.id || '|' || w.path FROM worktrees w "
                            "JOIN hosts h ON h.id = w.host_id WHERE w.active ORDER BY w.path"):
        name, worktree_id, path = row.split("|", 2)
        targets.append((name, worktree_id, path))
    # Round the hosts first, then their worktrees: consecutive edits hit different hosts.
    targets.sort(key=lambda t: (t[2].rsplit("/", 1)[1], t[0]))
    edits = Edits(config["admin_url"], targets, config["edit_rate"])
    listener = threading.Thread(target=edits.listener, daemon=True)
    listener.start()
    writer = threading.Thread(target=edits.writer, args=(config["duration"],), daemon=True)
    session_deadline = time.monotonic() + config["duration"]
    memory = {}

    def sample_memory():
        time.sleep(config["duration"] * 2 / 3)
        memory["agents"] = [m for m in (memory_kb(p.pid) for p in agents.values() if p.poll() is None) if m]
        memory["mcp"] = [m for m in (memory_kb(pid) for pid in children_named(os.getpid(), "imi-sync")
                                     if pid not in {p.pid for p in agents.values()}) if m]
    memory_thread = threading.Thread(target=sample_memory, daemon=True)
    writer.start()
    memory_thread.start()
    records = []
    asyncio.run(sessions(config, session_deadline, records))
    writer.join()
    memory_thread.join()
    edits.stop.set()
    listener.join(timeout=30)

    per_host = query(admin, "SELECT count(*) FROM (SELECT h.name FROM hosts h JOIN worktrees w ON w.host_id = h.id "
                            "AND w.active AND w.last_sync_at IS NOT NULL GROUP BY h.name HAVING count(*) >= $1) c",
                     str(worktrees))
    host_rows = query(admin, "SELECT count(*) FROM hosts")
    pools = bouncer(config["bouncer_admin"], "SHOW POOLS") if config.get("bouncer_admin") else []
    servers = bouncer(config["bouncer_admin"], "SHOW SERVERS") if config.get("bouncer_admin") else []
    sampler.stop.set()
    sampler.join()

    for process in agents.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in agents.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()

    refused = {label: 0 for label in REFUSALS}
    samples = {}
    for name, log in logs.items():
        text = open(log, errors="replace").read()
        for label, needle in REFUSALS.items():
            if needle in text:
                refused[label] += 1
                samples.setdefault(label, next(line for line in text.splitlines() if needle in line)[:300])
    exited_early = sum(1 for name, process in agents.items() if process.returncode not in (0, -signal.SIGTERM))

    answering = sum(1 for r in records if r.get("started") and r.get("ok", 0) > 0 and r.get("failed", 0) == 0)
    some = sum(1 for r in records if r.get("ok", 0) > 0)
    calls_ok, calls_failed = sum(r.get("ok", 0) for r in records), sum(r.get("failed", 0) for r in records)
    session_errors = {}
    for r in records:
        for error in r.get("errors", []):
            session_errors[error.split(" (")[0][:120]] = session_errors.get(error.split(" (")[0][:120], 0) + 1

    lat = edits.latencies
    p50 = percentile(lat, 0.5) * 1000 if lat else float("nan")
    p99 = percentile(lat, 0.99) * 1000 if lat else float("nan")

    def mb(values, index):
        values = sorted(v[index] for v in values)
        return (f"median {values[len(values) // 2] / 1024:.1f} MB, max {values[-1] / 1024:.1f} MB"
                if values else "n/a")

    print(f"hosts synced (every worktree registered and synced): {per_host[0]} of {len(hosts)}"
          f"   ({host_rows[0]} host rows; target: all)")
    print(f"agents refused or failing, by what their log says: "
          + ", ".join(f"{label} {count}" for label, count in refused.items())
          + f"; exited on their own: {exited_early}")
    for label, line in samples.items():
        print(f"   e.g. ({label}): {line}")
    print(f"mcp sessions answering every call: {answering} of {len(records)}"
          f"   ({some} answered at least once; {calls_ok} calls ok, {calls_failed} failed)")
    for error, count in sorted(session_errors.items(), key=lambda e: -e[1])[:4]:
        print(f"   {count} x {error}")
    print(f"peak PostgreSQL client backends: {AGENT_ROLE} {sampler.peak.get(AGENT_ROLE, 0)}, "
          f"{MCP_ROLE} {sampler.peak.get(MCP_ROLE, 0)}, all roles {sampler.peak_total}"
          f"   (target for the hosts' roles: <= 90)")
    if config.get("bouncer_admin"):
        mine = [p for p in pools if p.get("user") in (AGENT_ROLE, MCP_ROLE)]
        print(f"PgBouncer at the end: server connections {sum(1 for s in servers if s.get('user') in (AGENT_ROLE, MCP_ROLE))}"
              f" (pools: " + "; ".join(f"{p['user']} cl_active {p['cl_active']} sv_active {p['sv_active']} "
                                        f"sv_idle {p['sv_idle']}" for p in mine)
              + f"), peak clients waiting {sampler.waiting_peak}")
    print(f"edit -> row, edits round the worktrees of the {len({t[0] for t in targets})} hosts that registered: "
          f"{len(lat)} of {len(lat) + len(edits.failures)} reached their row "
          f"({len(set(edits.failures))} hosts missed some); p50 {p50:.1f} ms, p99 {p99:.1f} ms"
          f"   (target p50 <= 150 ms, p99 <= 1 s)")
    print(f"memory per agent (VmRSS): {mb(memory.get('agents', []), 0)}; anonymous (RssAnon): "
          f"{mb(memory.get('agents', []), 1)}   ({len(memory.get('agents', []))} agents alive)")
    print(f"memory per mcp server (VmRSS): {mb(memory.get('mcp', []), 0)}; anonymous: {mb(memory.get('mcp', []), 1)}")
    json.dump({"hosts": len(hosts), "synced": int(per_host[0]), "refused": refused, "exited": exited_early,
               "sessions": len(records), "answering": answering, "calls_ok": calls_ok, "calls_failed": calls_failed,
               "peak": sampler.peak, "peak_total": sampler.peak_total, "edits": len(lat),
               "edit_failures": len(edits.failures), "p50_ms": p50, "p99_ms": p99, "memory_kb": memory},
              open(os.path.join(work, "summary.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
