#!/bin/bash
# User networks and the classic builder: berthd against Debian's docker.io (dockerd), side by
# side in one run, both driven by the same docker CLI, each daemon isolated (daemons.sh).
#
#   bench/engine/network-build.sh [--runs N] [--warmup N] [--out DIR]
#
# Measures (hyperfine -N, interleaving is not needed: each command is short and the two daemons
# alternate within hyperfine's own order)
#   net      `run --rm --network benchnet busybox true`: a user-defined bridge network on both
#            daemons (a veth pair and an address per container on both: the same work)
#   build    `build -q -t bench:b CTX` of a four-step Dockerfile (FROM busybox, COPY, RUN, ENV,
#            CMD) with the classic builder on both (no BuildKit: the CLI here has no buildx);
#            dockerd keeps a build cache, so it also runs with --no-cache, which berthd ignores
#            (it has no cache: every build does every step)
# Needs root, hyperfine, jq, busybox-static, curl, and docker.io installed for the benchmark.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runs=15 warmup=2 out=
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
for tool in hyperfine jq curl dockerd docker; do
	command -v "$tool" >/dev/null || { echo "network-build bench: needs $tool" >&2; exit 1; }
done
docker=$(command -v docker)

export BENCH_DIR
BENCH_DIR=$(mktemp -d /tmp/berth-bench-netbuild.XXXXXX)
out=${out:-$repo/bench/results/netbuild-$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$out"
# shellcheck source=daemons.sh
. "$here/daemons.sh"
trap bench_stop_all EXIT
export DOCKER_CONFIG=$BENCH_DIR/docker-config
mkdir -p "$DOCKER_CONFIG"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/results.txt"

bench_start_berthd
bench_start_dockerd
sleep 2
dk=(-H "unix://$DOCKER_SOCK") bh=(-H "unix://$BERTH_SOCK")
$docker "${dk[@]}" network create benchnet >/dev/null
$docker "${bh[@]}" network create benchnet >/dev/null

ctx=$BENCH_DIR/ctx
mkdir -p "$ctx"
head -c 100000 /dev/urandom >"$ctx/data.bin"
printf 'FROM busybox\nCOPY data.bin /data.bin\nRUN echo built > /built.txt\nENV MODE=bench\nCMD ["cat", "/built.txt"]\n' >"$ctx/Dockerfile"

hf=(
	-n "docker CLI -> dockerd, --network benchnet" "$docker ${dk[*]} run --rm --network benchnet busybox true"
	-n "docker CLI -> berthd, --network benchnet" "$docker ${bh[*]} run --rm --network benchnet busybox true"
	-n "docker CLI -> dockerd, build --no-cache" "$docker ${dk[*]} build -q --no-cache -t bench:b $ctx"
	-n "docker CLI -> dockerd, build (cached)" "$docker ${dk[*]} build -q -t bench:b $ctx"
	-n "docker CLI -> berthd, build" "$docker ${bh[*]} build -q -t bench:b $ctx"
)
for ((i = 1; i < ${#hf[@]}; i += 3)); do
	${hf[$((i + 1))]} >/dev/null 2>&1 || { echo "network-build bench: '${hf[$((i + 1))]}' failed" >&2; exit 1; }
done
hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$out/run.json" "${hf[@]}" | tee -a "$out/results.txt"

median_ms() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$out/run.json"; }
{
	echo
	echo "| command | median | / dockerd |"
	echo "|---|---|---|"
	for pair in "network benchnet|docker CLI -> dockerd, --network benchnet|docker CLI -> berthd, --network benchnet" \
		"build|docker CLI -> dockerd, build --no-cache|docker CLI -> berthd, build"; do
		IFS='|' read -r _ base ours <<<"$pair"
		b=$(median_ms "$base") o=$(median_ms "$ours")
		printf '| %s | %.1f ms | 1.00 |\n| %s | %.1f ms | %.2f |\n' "$base" "$b" "$ours" "$o" "$(echo "$o / $b" | bc -l)"
	done
	printf '| %s | %.1f ms | - |\n' "docker CLI -> dockerd, build (cached)" "$(median_ms "docker CLI -> dockerd, build (cached)")"
	echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$out/results.txt"
$docker "${bh[@]}" network rm benchnet >/dev/null || true
