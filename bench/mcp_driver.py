#!/usr/bin/env python3
"""Drives `imi-sync mcp` for bench/mcp.sh, two ways: with the official Python MCP client (PyPI
`mcp`, the project's .venv), timing each call_tool round trip as an agent sees it (the client's
own parsing and validation included); and on raw stdio (one JSON-RPC line out, one line back),
the time at the server's own stdio. Prints one JSON document: per case p50/p99 in ms, answer
bytes, and the server's RSS and RssAnon after the calls.
Usage: mcp_driver.py SCENARIO_JSON  (binary, arguments, environment, runs, worktree path,
refresh path and id); also times push to a subscriber."""
import asyncio, json, os, subprocess, sys, time

import mcp.types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def percentiles(samples):
    ordered = sorted(samples)
    def at(q):
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)
    return {"p50": at(0.50), "p99": at(0.99), "runs": len(ordered)}


def memory(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "VmHWM"):
                fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def server_pid():
    """The imi-sync child of this process (stdio_client does not expose it)."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/comm") as comm:
                name = comm.read().strip()
        except OSError:
            continue
        if int(fields[1]) == me and name.startswith("imi-sync"):
            return int(entry)
    return None


def cases(scenario):
    path, refresh = scenario["path"], scenario["refresh_path"]
    return [
        ("list_inflight_work default page", "list_inflight_work", {}),
        ("list_inflight_work 1,000-row page", "list_inflight_work", {"limit": 1000}),
        ("list_inflight_work next page (cursor)", "list_inflight_work", "CURSOR"),
        ("list_worktrees default page", "list_worktrees", {}),
        ("find_overlaps", "find_overlaps", {"path": path}),
        ("get_worktree_state", "get_worktree_state", {"path": path}),
        ("get_worktree_state refresh (200 files)", "get_worktree_state", {"path": refresh, "refresh": True}),
    ]


async def official(scenario):
    parameters = StdioServerParameters(command=scenario["binary"], args=scenario["arguments"],
                                       env=scenario["environment"])
    report = {}
    async with stdio_client(parameters) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            first = await session.call_tool("list_inflight_work", {})
            cursor = json.loads(first.content[0].text)["next_cursor"]
            for label, tool, arguments in cases(scenario):
                if arguments == "CURSOR":
                    arguments = {"cursor": cursor}
                samples, size = [], 0
                for run in range(scenario["runs"] + 3):
                    start = time.perf_counter()
                    result = await session.call_tool(tool, arguments)
                    elapsed = time.perf_counter() - start
                    if result.isError:
                        sys.exit(f"bench: {label}: {result.content[0].text}")
                    size = len(result.content[0].text)
                    if run >= 3:  # the first calls warm the connection and the caches
                        samples.append(elapsed)
                report[label] = dict(percentiles(samples), bytes=size)
            pid = server_pid()
            report["memory_mb"] = memory(pid) if pid else None
    return report


async def push(scenario, edits=30):
    """Push to a subscriber: one session subscribes to imi://worktree/{id} of the real
    worktree, another edits a file of it (an extra line, then the line taken back, so each
    edit changes the uncommitted count) and asks get_worktree_state to refresh; timed from
    the edit, and from the refresh's answer, to notifications/resources/updated."""
    parameters = StdioServerParameters(command=scenario["binary"], args=scenario["arguments"],
                                       env=scenario["environment"])
    arrived = asyncio.Queue()

    async def on_message(message):
        if isinstance(message, types.ServerNotification) and isinstance(message.root, types.ResourceUpdatedNotification):
            await arrived.put(time.perf_counter())

    edited_file = os.path.join(scenario["refresh_path"], "file-7.txt")
    original = open(edited_file).read()
    from_edit, from_answer = [], []
    async with stdio_client(parameters) as (read_a, write_a), stdio_client(parameters) as (read_b, write_b):
        async with ClientSession(read_a, write_a, message_handler=on_message) as watcher, \
                ClientSession(read_b, write_b) as writer:
            await watcher.initialize()
            await writer.initialize()
            await watcher.subscribe_resource("imi://worktree/" + scenario["refresh_id"])
            for edit in range(edits + 2):
                while not arrived.empty():
                    arrived.get_nowait()
                start = time.perf_counter()
                with open(edited_file, "w") as handle:
                    handle.write(original + ("edit\n" if edit % 2 == 0 else ""))
                result = await writer.call_tool("get_worktree_state", {"path": scenario["refresh_path"], "refresh": True})
                answered = time.perf_counter()
                if result.isError:
                    sys.exit(f"bench: push: {result.content[0].text}")
                try:
                    notified = await asyncio.wait_for(arrived.get(), timeout=10)
                except asyncio.TimeoutError:
                    sys.exit(f"bench: push: no notifications/resources/updated within 10 s of edit {edit}")
                if edit >= 2:  # the first two warm both sessions
                    from_edit.append(notified - start)
                    from_answer.append(max(0.0, notified - answered))
    with open(edited_file, "w") as handle:
        handle.write(original)
    return {"edit -> notification": percentiles(from_edit), "refresh answered -> notification": percentiles(from_answer)}


def raw(scenario):
    """The same calls on raw stdio: one line out, one line back, no client library."""
    server = subprocess.Popen([scenario["binary"], *scenario["arguments"]], env=scenario["environment"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ids = iter(range(1, 10**9))

    def call(method, params):
        message = {"jsonrpc": "2.0", "id": next(ids), "method": method, "params": params}
        server.stdin.write(json.dumps(message).encode() + b"\n")
        server.stdin.flush()
        line = server.stdout.readline()
        return json.loads(line), len(line)

    call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                        "clientInfo": {"name": "bench", "version": "1"}})
    server.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    server.stdin.flush()
    first, _ = call("tools/call", {"name": "list_inflight_work", "arguments": {}})
    cursor = json.loads(first["result"]["content"][0]["text"])["next_cursor"]
    report = {}
    for label, tool, arguments in cases(scenario):
        if arguments == "CURSOR":
            arguments = {"cursor": cursor}
        samples, size = [], 0
        for run in range(scenario["runs"] + 3):
            start = time.perf_counter()
            answer, size = call("tools/call", {"name": tool, "arguments": arguments})
            elapsed = time.perf_counter() - start
            if answer.get("result", {}).get("isError") or "error" in answer:
                sys.exit(f"bench: raw {label}: {answer}")
            if run >= 3:
                samples.append(elapsed)
        report[label] = dict(percentiles(samples), bytes=size)
    report["memory_mb"] = memory(server.pid)
    server.stdin.close()
    server.wait(timeout=10)
    return report


def main():
    scenario = json.loads(sys.argv[1])
    report = {"official_client": asyncio.run(official(scenario)), "raw_stdio": raw(scenario),
              "push": asyncio.run(push(scenario))}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
