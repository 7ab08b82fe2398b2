#!/usr/bin/env python3
"""Pages through `imi-sync mcp`'s list tools with the official Python MCP client (PyPI `mcp`),
for Tests/SyncAgentTests/McpPagingTests.swift: walks every page by cursor, calls the filters,
and sends bad cursors and limits. Prints one JSON document of what it saw.
Usage: paging.py SCENARIO_JSON   (imi-sync path, its arguments, environment, working directory)"""
import asyncio, json, sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def outcome(result):
    text = "".join(part.text for part in result.content if getattr(part, "type", "") == "text")
    return {"is_error": bool(result.isError), "text": text,
            "document": None if result.isError else json.loads(text)}


async def walk(session, tool, arguments, limit):
    """Every page from the first: the rows' ids in order, each page's total and size."""
    ids, pages, cursor = [], [], None
    while len(pages) < 100:
        page = outcome(await session.call_tool(
            tool, dict(arguments, limit=limit, **({"cursor": cursor} if cursor else {}))))
        if page["is_error"]:
            return {"error": page["text"]}
        document = page["document"]
        ids += [row["id"] for row in document["worktrees"]]
        pages.append({"total": document["total"], "rows": len(document["worktrees"]),
                      "preferred_project": document["preferred_project"],
                      "projects": [row["project"] for row in document["worktrees"]]})
        cursor = document["next_cursor"]
        if cursor is None:
            break
    return {"ids": ids, "pages": pages}


async def main():
    scenario = json.loads(sys.argv[1])
    parameters = StdioServerParameters(command=scenario["binary"], args=scenario["arguments"],
                                       env=scenario["environment"], cwd=scenario["cwd"])
    report = {}
    async with stdio_client(parameters) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            report["default"] = outcome(await session.call_tool("list_inflight_work", {}))["document"]
            report["inflight_by_7"] = await walk(session, "list_inflight_work", {}, 7)
            report["worktrees_by_13"] = await walk(session, "list_worktrees", {"include_inactive": True}, 13)
            report["default_worktrees"] = outcome(await session.call_tool("list_worktrees", {}))["document"]
            report["filtered"] = {
                label: await walk(session, "list_inflight_work", arguments, 5)
                for label, arguments in {
                    "project": {"project": "p1"}, "host": {"host": "here"}, "status": {"status": "ahead"},
                    "prefer": {"prefer_project": "p1"},
                }.items()
            }
            first = outcome(await session.call_tool("list_inflight_work", {"limit": 3}))["document"]
            other = outcome(await session.call_tool("list_worktrees", {"limit": 3}))["document"]
            overlap_cursor = "eyJ0IjoiZmluZF9vdmVybGFwcyJ9"
            # The same cursor with its own filters repeated is fine; a different filter is not.
            report["cursor_same_filters"] = outcome(await session.call_tool(
                "list_inflight_work", {"cursor": first["next_cursor"], "limit": 3}))
            bad = {
                "garbage_cursor": ("list_inflight_work", {"cursor": "not a cursor"}),
                "other_tools_cursor": ("list_inflight_work", {"cursor": other["next_cursor"]}),
                "foreign_cursor": ("list_worktrees", {"cursor": overlap_cursor}),
                "cursor_other_filter": ("list_inflight_work", {"cursor": first["next_cursor"], "project": "p2"}),
                "limit_zero": ("list_inflight_work", {"limit": 0}),
                "limit_too_big": ("list_inflight_work", {"limit": 1001}),
                "limit_not_integer": ("list_worktrees", {"limit": "ten"}),
                "unknown_status": ("list_inflight_work", {"status": "clean"}),
            }
            report["bad"] = {label: outcome(await session.call_tool(tool, arguments))
                             for label, (tool, arguments) in bad.items()}
            # find_overlaps by 5: every (worktree, path) once.
            overlaps, pages, cursor = [], [], None
            while len(pages) < 50:
                arguments = {"worktree_id": scenario["overlap_id"], "limit": 5}
                page = outcome(await session.call_tool(
                    "find_overlaps", dict(arguments, **({"cursor": cursor} if cursor else {}))))
                if page["is_error"]:
                    overlaps.append(page["text"])
                    break
                overlaps += [[row["worktree_id"], row["path"]] for row in page["document"]["overlaps"]]
                pages.append(page["document"]["total"])
                cursor = page["document"]["next_cursor"]
                if cursor is None:
                    break
                report["overlap_cursor"] = cursor
            report["overlaps_by_5"] = {"rows": overlaps, "totals": pages}
            report["overlap_cursor_elsewhere"] = outcome(await session.call_tool(
                "find_overlaps", {"worktree_id": scenario["other_id"], "cursor": report["overlap_cursor"]}))
            report["limit_max"] = outcome(await session.call_tool("list_inflight_work", {"limit": 1000}))["document"]
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main())
