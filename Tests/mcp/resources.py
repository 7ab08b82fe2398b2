#!/usr/bin/env python3
"""Reads and subscribes to the resources of `imi-sync mcp` with the official Python MCP client
(PyPI `mcp`), for Tests/SyncAgentTests/McpResourceTests.swift: lists resources and templates,
reads imi://inflight and imi://worktree/{id}, subscribes to both and to imi://overlaps/{project},
then runs the scenario's `change` command (an edit written by `imi-sync once`) and waits for
`notifications/resources/updated`. Prints one JSON document of what it saw.
Usage: resources.py SCENARIO_JSON"""
import asyncio, json, subprocess, sys, time

import mcp.types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main():
    scenario = json.loads(sys.argv[1])
    report = {"updated": []}
    updated = asyncio.Event()
    changed_at = {}

    async def on_message(message):
        if isinstance(message, types.ServerNotification) and isinstance(message.root, types.ResourceUpdatedNotification):
            uri = str(message.root.params.uri)
            report["updated"].append({"uri": uri, "after_ms": round((time.monotonic() - changed_at.get("t", time.monotonic())) * 1000, 1)})
            updated.set()

    parameters = StdioServerParameters(command=scenario["binary"], args=scenario["arguments"], env=scenario["environment"])
    async with stdio_client(parameters) as (read, write):
        async with ClientSession(read, write, message_handler=on_message) as session:
            initialized = await session.initialize()
            report["subscribe_capability"] = bool(initialized.capabilities.resources and initialized.capabilities.resources.subscribe)
            report["resources"] = [str(r.uri) for r in (await session.list_resources()).resources]
            report["templates"] = [t.uriTemplate for t in (await session.list_resource_templates()).resourceTemplates]
            inflight = await session.read_resource("imi://inflight")
            report["inflight"] = json.loads(inflight.contents[0].text)
            worktree = await session.read_resource("imi://worktree/" + scenario["id"])
            report["worktree"] = json.loads(worktree.contents[0].text)
            try:
                await session.read_resource("imi://nothing")
                report["unknown"] = "read"
            except Exception as error:  # an MCP error answer
                report["unknown"] = str(error)
            for uri in ("imi://inflight", "imi://worktree/" + scenario["id"], "imi://overlaps/" + scenario["project"]):
                await session.subscribe_resource(uri)
            changed_at["t"] = time.monotonic()
            subprocess.run(scenario["change"], env=scenario["environment"], check=True, capture_output=True)
            try:
                await asyncio.wait_for(updated.wait(), timeout=20)
                await asyncio.sleep(1.0)  # the rest of the notifications of that change
            except asyncio.TimeoutError:
                pass
    print(json.dumps(report))


asyncio.run(main())
