#!/usr/bin/env python3
"""Times whole commands side by side, interleaved: round after round, each command once per round,
the order rotated every round. On this VM the cost of memory and of the disk drifts over a minute
(the host takes freed memory back, page cache fills); a runner that times all runs of one command
before the next (as hyperfine does) hands that drift to whichever command comes last.

    interleave.py SPEC.json OUT.json

SPEC: {"warmup": 1, "runs": 6, "commands": [{"name": "...", "command": "...", "prepare": "..."}]}
      "prepare" (optional) runs before every run of its command and is not timed.
OUT:  {"results": [{"command": NAME, "median", "mean", "min", "max", "user", "system", "times"}]}
      in seconds; user and system are the means of the command's CPU time (its children included).
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime, r.ru_stime


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: interleave.py SPEC.json OUT.json")
    try:
        spec = json.load(open(sys.argv[1]))
    except (OSError, ValueError) as e:
        sys.exit(f"interleave: cannot read the spec {sys.argv[1]}: {e}")
    cmds = spec["commands"]
    warmup, runs = int(spec.get("warmup", 1)), int(spec["runs"])
    samples = {c["name"]: {"wall": [], "user": [], "system": []} for c in cmds}
    for rnd in range(warmup + runs):
        k = rnd % len(cmds)
        for c in cmds[k:] + cmds[:k]:
            if c.get("prepare"):
                prep = subprocess.run(["bash", "-c", c["prepare"]])
                if prep.returncode != 0:
                    sys.exit(f"interleave: the preparation of '{c['name']}' failed (exit {prep.returncode}): {c['prepare']}")
            u0, s0 = children_cpu()
            t0 = time.perf_counter()
            p = subprocess.run(["bash", "-c", c["command"]], stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            u1, s1 = children_cpu()
            if p.returncode != 0:
                sys.exit(f"interleave: '{c['name']}' failed (exit {p.returncode}): {c['command']}")
            if rnd >= warmup:
                s = samples[c["name"]]
                s["wall"].append(wall)
                s["user"].append(u1 - u0)
                s["system"].append(s1 - s0)
        print(f"  round {rnd + 1}/{warmup + runs}" + (" (warm-up)" if rnd < warmup else ""), file=sys.stderr)
    results = []
    for c in cmds:
        s = samples[c["name"]]
        results.append({"command": c["name"], "median": statistics.median(s["wall"]), "mean": statistics.mean(s["wall"]),
                        "min": min(s["wall"]), "max": max(s["wall"]), "user": statistics.mean(s["user"]),
                        "system": statistics.mean(s["system"]), "times": s["wall"]})
        print(f"  {c['name']}: median {results[-1]['median']:.3f} s (min {results[-1]['min']:.3f}, max {results[-1]['max']:.3f}),"
              f" cpu {results[-1]['user']:.2f} user + {results[-1]['system']:.2f} system", file=sys.stderr)
    json.dump({"results": results}, open(sys.argv[2], "w"), indent=1)


if __name__ == "__main__":
    main()
