#!/usr/bin/env python3
"""Drives `imi-sync mcp` with the official Python MCP client (PyPI `mcp`) over stdio, for
Tests/SyncAgentTests/McpTests.swift: lists the tools, calls each, races two claims from two
server processes, sends bad input. Prints one JSON document of what it saw.
Usage: client.py SCENARIO_JSON   (imi-sync path, its arguments, worktree path and id)"""
import asyncio, json, sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def outcome(result):
    text = "".join(part.text for part in result.content if getattr(part, "type", "") == "text")
    document = None
    if not result.isError:
        document = json.loads(text)
    return {"is_error": bool(result.isError), "text": text, "document": document,
            "structured": result.structuredContent}


async def with_session(scenario, body):
    parameters = StdioServerParameters(command=scenario["binary"], args=scenario["arguments"],
                                       env=scenario["environment"])
    async with stdio_client(parameters) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)


async def main():
    scenario = json.loads(sys.argv[1])
    path, other = scenario["path"], scenario["other_path"]
    report = {}

    async def everything(session):
        tools = await session.list_tools()
        report["tools"] = [{"name": t.name, "schema": t.inputSchema} for t in tools.tools]
        calls = [
            ("list_inflight_work", "list_inflight_work", {}),
            ("list_inflight_work_project", "list_inflight_work", {"project": scenario["project"]}),
            ("list_worktrees", "list_worktrees", {"include_inactive": True}),
            ("get_worktree_state", "get_worktree_state", {"path": path}),
            ("get_worktree_state_refresh", "get_worktree_state", {"path": path, "refresh": True}),
            ("find_overlaps", "find_overlaps", {"path": path}),
            ("find_overlaps_file", "find_overlaps", {"worktree_id": scenario["id"], "file": "README.md"}),
            ("claim_worktree", "claim_worktree", {"path": path, "agent_id": "agent-a", "lease_seconds": 600}),
            ("claim_worktree_by_b", "claim_worktree", {"path": path, "agent_id": "agent-b"}),
            ("release_worktree_by_b", "release_worktree", {"path": path, "agent_id": "agent-b"}),
            ("release_worktree", "release_worktree", {"path": path, "agent_id": "agent-a"}),
            ("registry_stats", "registry_stats", {}),
        ]
        report["calls"] = {label: outcome(await session.call_tool(tool, arguments))
                           for label, tool, arguments in calls}
        bad = {
            "unknown_tool": ("no_such_tool", {}),
            "missing_argument": ("claim_worktree", {"path": path}),
            "mistyped_argument": ("list_worktrees", {"include_inactive": "yes"}),
            "unregistered_path": ("get_worktree_state", {"path": "/nowhere/registered"}),
            "bad_uuid": ("get_worktree_state", {"worktree_id": "not-a-uuid"}),
            "unknown_argument": ("registry_stats", {"verbose": True}),
            "nul_in_agent_id": ("claim_worktree", {"path": path, "agent_id": "alice\u0000mallory"}),
            "nul_in_path": ("get_worktree_state", {"path": path + "\u0000/etc/passwd"}),
        }
        report["bad"] = {label: outcome(await session.call_tool(tool, arguments))
                         for label, (tool, arguments) in bad.items()}
        # Still serving after all of that.
        report["after_bad"] = outcome(await session.call_tool("registry_stats", {}))

    await with_session(scenario, everything)

    # Two agents, two server processes, one worktree, at the same moment.
    async def claim(agent):
        return await with_session(scenario, lambda session: session.call_tool(
            "claim_worktree", {"path": other, "agent_id": agent}))
    results = await asyncio.gather(claim("racer-1"), claim("racer-2"))
    report["race"] = [outcome(result) for result in results]

    # A registry that is down: tool errors of one line, and the server keeps serving.
    async def down(session):
        first = outcome(await session.call_tool("registry_stats", {}))
        tools = await session.list_tools()
        second = outcome(await session.call_tool("list_worktrees", {}))
        return {"first": first, "second": second, "tools": len(tools.tools)}
    down_scenario = dict(scenario, arguments=scenario["down_arguments"])
    report["down"] = await with_session(down_scenario, down)
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main())
