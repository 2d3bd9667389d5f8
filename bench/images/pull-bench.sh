#!/usr/bin/env bash
# Pull benchmark: a ~200 MB image of 9 layers (busybox-static, random and compressible data, many
# small files) built with umoci, pushed with skopeo to a local docker-registry on 127.0.0.1, then
# pulled by `berth pull` (download, digest check, decompression and extraction into overlay
# snapshots) and by `skopeo copy docker://... oci:DIR` (download into an OCI layout; it does not
# extract), and by `docker pull` to a dockerd of its own when docker.io is installed. bench/lib/interleave.py runs them side by side
# in one run, interleaved, a fresh destination for every run; the medians and ratios go into docs/benchmarks.md.
#
#   bench/images/pull-bench.sh            # needs root, docker-registry, skopeo, umoci, busybox-static
#   RUNS=10 bench/images/pull-bench.sh
#   BASELINE_BERTH=/path/to/old/berth bench/images/pull-bench.sh   # also times an older build in the same run
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-/tmp/berth-pull-bench}"
RUNS="${RUNS:-5}"
for tool in docker-registry skopeo umoci busybox python3; do
  command -v "$tool" >/dev/null || { echo "pull-bench: $tool is not installed" >&2; exit 1; }
done

# Nothing is deleted on the disk before or between the timed runs (see "recently deleted" below):
# a previous run's folder is moved aside and removed at the end, with each run's destination.
OLD="$WORK.old.$$"
[ ! -e "$WORK" ] || mv "$WORK" "$OLD"
mkdir -p "$WORK"
cleanup() {
  [ -n "${REG_PID:-}" ] && kill "$REG_PID" 2>/dev/null || true
  rm -rf "$OLD"
  if [ -n "${DOCKERD_PID:-}" ]; then
    kill "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    pkill -f "containerd --config $WORK/docker/exec" 2>/dev/null || true
    grep -o " $WORK/docker[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done || true
  fi
  return 0
}
trap cleanup EXIT

echo "== publishing berth (NativeAOT)"
dotnet publish "$REPO/src/berth" -c Release -o "$WORK/bin" -p:PublishAot=true >"$WORK/publish.log" 2>&1 \
  || { tail -20 "$WORK/publish.log" >&2; exit 1; }
BERTH="$WORK/bin/berth"

echo "== building the image with umoci"
IMG="$WORK/oci"
umoci init --layout "$IMG" >/dev/null
umoci new --image "$IMG:bench" >/dev/null
umoci unpack --image "$IMG:bench" "$WORK/bundle" >/dev/null
R="$WORK/bundle/rootfs"
layer() { umoci repack --refresh-bundle --image "$IMG:bench" "$WORK/bundle" >/dev/null; }
mkdir -p "$R/bin"; cp /bin/busybox "$R/bin/busybox"; for a in sh ls cat; do ln -s busybox "$R/bin/$a"; done; layer
for i in 1 2 3 4; do                      # incompressible data (as in binaries, already-compressed assets)
  mkdir -p "$R/data$i"; head -c 24000000 /dev/urandom >"$R/data$i/blob.bin"; layer
done
for i in 1 2 3 4; do                      # compressible text in many small files (as in sources, locales, docs)
  python3 - "$R/text$i" <<'PY'
import os, random, sys
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
words = [''.join(random.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(random.randint(3, 9))) for _ in range(5000)]
for n in range(2500):
    with open(os.path.join(d, f"f{n:05}.txt"), "w") as f:
        f.write(' '.join(random.choice(words) for _ in range(1800)))
PY
  layer
done
umoci config --image "$IMG:bench" --config.cmd /bin/sh >/dev/null
SIZE=$(du -sb "$R" | cut -f1)
echo "   unpacked size: $((SIZE / 1000000)) MB"

echo "== starting docker-registry on 127.0.0.1"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
REF="127.0.0.1:$PORT/bench/big:v1"
skopeo copy --quiet --dest-tls-verify=false "oci:$IMG:bench" "docker://$REF"
COMPRESSED=$(skopeo inspect --raw --tls-verify=false "docker://$REF" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(sum(l["size"] for l in m["layers"]))')
LAYERS=$(skopeo inspect --raw --tls-verify=false "docker://$REF" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["layers"]))')
echo "   $LAYERS layers, $((COMPRESSED / 1000000)) MB compressed"

# docker pull, when Debian's docker.io is installed (for the benchmark only: apt-get install -y
# docker.io): a dockerd of its own (data root, exec root and socket under $WORK), in the host's
# network namespace so it reaches the registry on 127.0.0.1 (a loopback registry needs no
# --insecure-registry), with no bridge and no iptables rules, so the host's network is untouched.
DOCKER=()
DOCKER_NOTE="Docker's engine is not installed here: docker pull not measured."
if command -v dockerd >/dev/null && command -v docker >/dev/null; then
  mkdir -p "$WORK/docker"
  dockerd --data-root "$WORK/docker/data" --exec-root "$WORK/docker/exec" -H "unix://$WORK/docker.sock" \
    --pidfile "$WORK/docker/dockerd.pid" --bridge none --iptables=false --ip6tables=false --storage-driver overlay2 \
    --log-level warn >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 300); do docker -H "unix://$WORK/docker.sock" info >/dev/null 2>&1 && break; sleep 0.1; done
  if docker -H "unix://$WORK/docker.sock" info >/dev/null 2>&1; then
    DOCKER=(docker -H "unix://$WORK/docker.sock")
    DOCKER_NOTE="docker pull: Debian's docker.io $(dockerd --version | awk '{print $3}' | tr -d ,) (overlay2 on the same disk), its previous copy removed with docker rmi before each run (not timed)."
  else
    DOCKER_NOTE="dockerd did not start (see $WORK/dockerd.log): docker pull not measured."
  fi
fi

# Two placements of the destinations: the machine's disk (where /var/lib/berth lives) and tmpfs
# (/dev/shm), which takes the filesystem's cost of creating files out of the comparison.
for place in disk tmpfs; do
  if [ "$place" = disk ]; then DEST="$WORK/dest"; else DEST="/dev/shm/berth-pull-bench"; fi
  rm -rf "$DEST"; mkdir -p "$DEST"
  CMD_BERTH="$BERTH --root $DEST/berth-root pull -q $REF"
  CMD_SKOPEO="skopeo copy --quiet --src-tls-verify=false docker://$REF oci:$DEST/skopeo-dest:x"
  # The same work as a pull that leaves a usable root filesystem: download, then unpack.
  CMD_UNPACK="$CMD_SKOPEO && umoci unpack --image $DEST/skopeo-dest:x $DEST/skopeo-dest/bundle >/dev/null"
  # A fresh destination for each run. On the disk the previous one is renamed, not deleted: on ext4
  # without a journal, thousands of inodes freed just before a run would make every file that run
  # creates scan them (see below). On tmpfs it is deleted: kept, every run's copy would stay in memory.
  if [ "$place" = disk ]; then
    PREP="mkdir -p $DEST/old; for d in berth-root skopeo-dest; do [ ! -e $DEST/\$d ] || mv $DEST/\$d $DEST/old/\$d.\$(date +%s%N); done; sync"
  else
    PREP="rm -rf $DEST/berth-root $DEST/skopeo-dest; sync"
  fi
  # (name, prepare, command) for each command timed.
  TIMED=("berth pull" "$PREP" "$CMD_BERTH" "skopeo copy" "$PREP" "$CMD_SKOPEO" "skopeo copy + umoci unpack" "$PREP" "$CMD_UNPACK")
  if [ -n "${BASELINE_BERTH:-}" ]; then     # another berth binary (an older commit), side by side in the same run
    TIMED+=("berth pull (baseline)" "$PREP" "$BASELINE_BERTH --root $DEST/berth-root pull -q $REF")
  fi
  if [ "$place" = disk ] && [ ${#DOCKER[@]} -gt 0 ]; then
    CMD_DOCKER="${DOCKER[*]} pull -q $REF"
    TIMED+=("docker pull" "${DOCKER[*]} rmi -f $REF >/dev/null 2>&1; ${DOCKER[*]} image prune -f >/dev/null 2>&1; sync" "$CMD_DOCKER")
    echo "$CMD_DOCKER" >"$WORK/cmd-docker"
  fi
  SPEC="$WORK/spec-$place.json"
  python3 - "$SPEC" "$RUNS" "${TIMED[@]}" <<'PY'
import json, sys
out, runs, t = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
cmds = [{"name": t[i], "prepare": t[i + 1], "command": t[i + 2]} for i in range(0, len(t), 3)]
json.dump({"warmup": 1, "runs": runs, "commands": cmds}, open(out, "w"))
PY
  echo "== timing ($place): $RUNS rounds after a warm-up, the commands interleaved"
  python3 "$REPO/bench/lib/interleave.py" "$SPEC" "$WORK/times-$place.json"
  echo "$CMD_BERTH" >"$WORK/cmd-berth-$place"; echo "$CMD_SKOPEO" >"$WORK/cmd-skopeo-$place"; echo "$CMD_UNPACK" >"$WORK/cmd-unpack-$place"
  rm -rf "$DEST"
done

# The cost of creating one empty file right after thousands were deleted (what a --prepare with rm -rf
# did before each run): on an ext4 without a journal (this VM's), the inode allocator then scans the
# group's recently freed inodes one by one for every new inode (fs/ext4/ialloc.c, find_inode_bit ->
# recently_deleted: 30 s after a delete, 180 s while the inode table block is still dirty). "plain" creates in a new
# directory next to the deleted one (as skopeo/umoci do, and berth did); "spread" in a new directory
# below a `chattr +T` parent (as berth's snapshots/overlay/tmp), which ext4's Orlov allocator places in
# a block group of its own. On tmpfs the cost is the same either way.
create_cost() { python3 - "$1" "$2" <<'PY'
import os, sys, time, shutil, subprocess, uuid, statistics
base, mode = sys.argv[1], sys.argv[2]
parent = os.path.join(base, "cc-" + mode); os.makedirs(parent, exist_ok=True)
if mode == "spread": subprocess.run(["chattr", "+T", parent], stderr=subprocess.DEVNULL)
costs = []
for _ in range(3):   # as a pull after the previous one was removed: NAME/fs/text1 with 2500 files, then rm -rf
    top = os.path.join(parent, uuid.uuid4().hex); d = os.path.join(top, "fs", "text1"); os.makedirs(d)
    t = time.perf_counter()
    for i in range(2500): open(os.path.join(d, f"f{i:05}.txt"), "w").close()
    costs.append((time.perf_counter() - t) / 2500 * 1e6); shutil.rmtree(top)
print(f"{statistics.median(costs):.0f}"); shutil.rmtree(parent)
PY
}
CREATE_DISK=$(create_cost "$WORK" plain); CREATE_DISK_SPREAD=$(create_cost "$WORK" spread); CREATE_TMPFS=$(create_cost /dev/shm plain)

python3 - "$WORK" "$REPO/docs/benchmarks.md" "$LAYERS" "$COMPRESSED" "$SIZE" "$RUNS" "$DOCKER_NOTE" "$CREATE_DISK" "$CREATE_TMPFS" "$CREATE_DISK_SPREAD" <<'PY'
import json, sys, re, datetime, os
work, doc, layers, comp, size, runs, note, cdisk, ctmpfs, cspread = sys.argv[1:11]
rows, cmds = [], []
# docker's work happens in dockerd and containerd, not in the timed CLI: its CPU is not measured.
cpu = lambda name, r: "(in dockerd)" if name == "docker pull" else f"{r['user'] + r['system']:.2f} s"
for place in ("disk", "tmpfs"):
    res = {r["command"]: r for r in json.load(open(f"{work}/times-{place}.json"))["results"]}
    b = res["berth pull"]["median"]
    for name, r in res.items():
        rows.append(f"| {place} | {name} | {r['median']:.3f} s | {r['min']:.3f} s | {r['max']:.3f} s | {cpu(name, r)} | {r['median'] / b:.2f} |")
    cmds.append(f"- {place}: `{open(f'{work}/cmd-berth-{place}').read().strip()}`, `{open(f'{work}/cmd-skopeo-{place}').read().strip()}`"
                f" and `{open(f'{work}/cmd-unpack-{place}').read().strip()}`")
    if place == "disk" and os.path.exists(f"{work}/cmd-docker"):
        cmds[-1] += f"; `{open(f'{work}/cmd-docker').read().strip()}`"

section = f"""<!-- images-pull-bench:start -->
## Images: pull from a local registry

`bench/images/pull-bench.sh` ({datetime.date.today()}, {runs} rounds after a warm-up round, each command once a round in a rotating
order (`bench/lib/interleave.py`), a fresh destination for every run). Image: {layers} layers built with umoci (busybox-static, 4 × 24 MB random data,
4 × 2500 text files), {int(comp) // 1000000} MB compressed, {int(size) // 1000000} MB unpacked, in docker-registry 2.8 on 127.0.0.1.

`berth pull` downloads, checks sha256, decompresses and extracts into overlay snapshots, all streamed, layers in parallel.
`skopeo copy docker://… oci:DIR` only downloads the blobs into an OCI layout: it creates 12 files where Berth creates about
10,000; `skopeo copy` followed by `umoci unpack` does the same work as a pull (a root filesystem to run). {note}

| destination | command | median | min | max | CPU (user + system, mean) | ÷ berth's median |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

On the disk each run's destination is new and the previous one is renamed away, not deleted (all of them go after the runs): the
disk is ext4 without a journal, and there every inode allocation in a block group with recently freed inodes scans them
one by one (`find_inode_bit` → `recently_deleted` in fs/ext4/ialloc.c: 30 s after a delete, 180 s while the inode table
block is dirty). With an `rm -rf` of the previous run before each run, a third of a pull's CPU went into that scan and the
runs drifted from 1.0 to 2.7 s. What it costs: creating one empty file right after 2500 were deleted (median of 3 rounds
in `NEW/fs/text1`) takes about {cdisk} µs in a plain directory on this disk, {cspread} µs below a `chattr +T` parent (Berth
extracts each layer below `snapshots/overlay/tmp`, marked so, which spreads layers over block groups) and {ctmpfs} µs on tmpfs.
This VM also gives freed memory back to its host (virtio-balloon, DAMON), so page cache written for the first time costs
host page faults (perf: `copy_folio_from_iter_atomic`, `clear_page_erms`); every command here that writes files pays it.

Commands:
{chr(10).join(cmds)}
<!-- images-pull-bench:end -->"""
try:
    text = open(doc).read()
except FileNotFoundError:
    text = "# Benchmarks\n"
if "<!-- images-pull-bench:start -->" in text:
    text = re.sub(r"<!-- images-pull-bench:start -->.*?<!-- images-pull-bench:end -->", lambda m: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(doc, "w").write(text)
print(section)
PY
