#!/usr/bin/env python3
"""Edit -> overlap latency under `imi-sync run` (bench/conflicts.sh): worktree w01 writes a
file worktree wNN already changes; the time until v_worktree_overlaps shows that pair and
path is read by polling the view (values as libpq parameters).
Usage: conflicts_driver.py CONNINFO PROJECT_DIRECTORY"""
import os, sys, time

from driver import connect, percentile, query


def main():
    conninfo, directory = sys.argv[1:3]
    reader = connect(conninfo)
    ids = {}
    for name in ["feat-w%02d" % n for n in range(1, 31)]:
        ids[name] = query(reader, "SELECT id FROM worktrees WHERE path = $1", os.path.join(directory, name))[0]
    latencies = []
    for i in range(20):
        other = "feat-w%02d" % (11 + i % 20)
        path = "src/f%d.c" % (11 + i % 20)   # changed by `other` already
        target = os.path.join(directory, "feat-w01", path)
        lines = open(target).read().split("\n")
        lines[20] = "w01 edit %d" % i
        start = time.monotonic()
        with open(target, "w") as handle:
            handle.write("\n".join(lines))
        a, b = sorted([ids["feat-w01"], ids[other]])
        deadline = start + 10
        while not query(reader, """SELECT 1 FROM v_worktree_overlaps
                WHERE worktree_id_a = $1 AND worktree_id_b = $2 AND path = $3 AND conflict IS NOT NULL""", a, b, path):
            if time.monotonic() > deadline:
                sys.exit(f"bench: the overlap of {path} never reached the view")
            time.sleep(0.01)
        latencies.append((time.monotonic() - start) * 1000)
        time.sleep(0.3)
    print(f"edit -> overlap row in v_worktree_overlaps ({len(latencies)} edits): p50 {percentile(latencies, 0.5):.0f} ms, "
          f"p99 {percentile(latencies, 0.99):.0f} ms  (target p50 <= 100)")


if __name__ == "__main__":
    main()
