#!/usr/bin/env python3
"""Drives `imi-sync mcp` with raw bytes on its standard input (no MCP library: what a broken
or hostile peer may send), for Tests/SyncAgentTests/McpStdioTests.swift. Each case starts a
server, writes, reads the answers, and checks the server still answers a normal call after.
Prints one JSON document of what it saw.
Usage: raw_stdio.py SCENARIO_JSON   (imi-sync path, its arguments, a registered path)"""
import json, os, random, select, string, subprocess, sys, threading, time

INITIALIZE = {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "raw_stdio.py", "version": "1"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def call(id, tool, arguments):
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}


class Server:
    def __init__(self, scenario, deadline_seconds):
        self.deadline = time.monotonic() + deadline_seconds
        self.process = subprocess.Popen(
            [scenario["binary"]] + scenario["arguments"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(scenario["stderr"], "ab"), env=scenario["environment"])
        self.pending = b""
        self.seen = []  # every message read, in order
        self.writer = None

    def write(self, data):
        """Writes in a thread: a server that reads slowly must not stop us reading its answers."""
        if self.writer is not None:
            self.writer.join(max(0, self.deadline - time.monotonic()))

        def run():
            try:
                self.process.stdin.write(data)
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass
        self.writer = threading.Thread(target=run, daemon=True)
        self.writer.start()

    def send(self, message):
        self.write(json.dumps(message).encode() + b"\n")

    def next_message(self):
        """The next line the server writes, parsed; None at end of output or the deadline."""
        while b"\n" not in self.pending:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        message = json.loads(line)
        self.seen.append(message)
        return message

    def answer(self, id):
        """The response to request `id` (other messages are kept in `seen`); None if none came."""
        for message in self.seen:
            if message.get("id") == id and ("result" in message or "error" in message):
                return message
        while True:
            message = self.next_message()
            if message is None:
                return None
            if message.get("id") == id and ("result" in message or "error" in message):
                return message

    def initialize(self):
        self.send(INITIALIZE)
        answer = self.answer("init")
        self.send(INITIALIZED)
        return answer

    def close(self):
        if self.writer is not None and self.writer.is_alive():
            self.process.kill()  # still stuck writing to a server that does not read
        else:
            try:
                self.process.stdin.close()
            except Exception:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def outcome(answer):
    """A tool call's answer as {kind, is_error, text}: kind is result, error or missing."""
    if answer is None:
        return {"kind": "missing"}
    if "error" in answer:
        return {"kind": "error", "code": answer["error"].get("code"), "text": answer["error"].get("message", "")}
    result = answer["result"]
    text = "".join(part.get("text", "") for part in result.get("content", []))
    return {"kind": "result", "is_error": bool(result.get("isError")), "text": text}


def still_serving(server):
    server.send(call("after", "registry_stats", {}))
    return outcome(server.answer("after"))


def pre_initialize(scenario):
    server = Server(scenario, 30)
    server.send(call(1, "registry_stats", {}))
    server.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    server.send({"jsonrpc": "2.0", "id": 3, "method": "ping"})
    before = {"call": outcome(server.answer(1)), "list": outcome(server.answer(2)),
              "ping": "result" in (server.answer(3) or {})}
    initialized = server.initialize() is not None
    server.send({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
    listed = server.answer(4)
    report = {"before": before, "initialized": initialized,
              "listed_after": len(listed["result"]["tools"]) if listed and "result" in listed else None,
              "after": still_serving(server)}
    server.close()
    return report


def nul(scenario):
    server = Server(scenario, 30)
    server.initialize()
    path = scenario["path"]
    cases = {
        "agent_inside": call(10, "claim_worktree", {"path": path, "agent_id": "alice\u0000mallory"}),
        "agent_leading": call(11, "claim_worktree", {"path": path, "agent_id": "\u0000x"}),
        "path": call(12, "get_worktree_state", {"path": path + "\u0000/etc/passwd"}),
        "project": call(13, "list_worktrees", {"project": "app\u0000"}),
    }
    report = {}
    for label, message in cases.items():
        server.send(message)
        report[label] = outcome(server.answer(message["id"]))
    report["after"] = still_serving(server)
    server.close()
    return report


def long_line(scenario):
    server = Server(scenario, scenario["long_line_seconds"])
    server.initialize()
    filler = b"a" * scenario["long_line_bytes"]
    line = b'{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"registry_stats","arguments":{"x":"' \
        + filler + b'"}}}\n'
    server.write(line + json.dumps(call(21, "registry_stats", {})).encode() + b"\n")
    normal = outcome(server.answer(21))
    errors = [m for m in server.seen if m.get("id") is None and "error" in m]
    report = {"normal": normal, "parse_errors": [m["error"] for m in errors],
              "answered_20": any(m.get("id") == 20 for m in server.seen), "after": still_serving(server)}
    server.close()
    return report


def oversized_agent(scenario):
    server = Server(scenario, 30)
    server.initialize()
    # Random letters: PostgreSQL cannot compress them below its index row limit.
    generator = random.Random(17)
    agent = "".join(generator.choice(string.ascii_letters) for _ in range(scenario["agent_bytes"]))
    server.send(call(30, "claim_worktree", {"path": scenario["path"], "agent_id": agent}))
    report = {"claim": outcome(server.answer(30)), "after": still_serving(server)}
    server.close()
    return report


def main():
    scenario = json.loads(sys.argv[1])
    cases = {"pre_initialize": pre_initialize, "nul": nul, "long_line": long_line,
             "oversized_agent": oversized_agent}
    report = {}
    for name in scenario["cases"]:
        report[name] = cases[name](scenario)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
