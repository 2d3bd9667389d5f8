#!/bin/bash
# Engine benchmark: berthd (berth-shim, berth-runtime) against Debian's docker.io (dockerd,
# containerd, containerd-shim-runc-v2, runc), side by side in one run, each daemon isolated
# (own data root, socket, cgroup parent; dockerd in a network namespace of its own).
#
#   bench/engine/bench.sh [--runs N] [--warmup N] [--containers N] [--out DIR]
#
# Measures
#   run      `CLI run --rm busybox true` through hyperfine: the docker CLI to dockerd, the docker
#            CLI to berthd, and berth to berthd; with the default network and with --network none
#            (dockerd's default is its bridge: a veth pair per container; berthd's default is an
#            empty network namespace, the same as none until berth has a bridge driver)
#   many     N containers started one after the other with `run -d`, then stopped with one
#            `stop` (the CLI stops them in parallel), then removed with one `rm`: total times
#   memory   while the N run: RSS and PSS per container of berth-shim against
#            containerd-shim-runc-v2 (smaps_rollup), and of the daemons; idle daemon RSS (berthd
#            against dockerd + containerd) after start and again after the runs
# Needs root, hyperfine, jq, busybox-static, curl, and docker.io installed for the benchmark
# (apt-get install -y docker.io): it is no dependency of Berth. berthd is a Release build.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runs=20 warmup=3 n=50 out=
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--containers) n=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
for tool in hyperfine jq curl dockerd docker; do
	command -v "$tool" >/dev/null || { echo "engine bench: needs $tool" >&2; exit 1; }
done
berth=${BERTH:-$repo/artifacts/bin/berth}
docker=$(command -v docker)

export BENCH_DIR
BENCH_DIR=$(mktemp -d /tmp/berth-bench-engine.XXXXXX)
out=${out:-$repo/bench/results/engine-$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$out"
# shellcheck source=daemons.sh
. "$here/daemons.sh"
trap bench_stop_all EXIT
export DOCKER_CONFIG=$BENCH_DIR/docker-config
mkdir -p "$DOCKER_CONFIG"

res=$out/results.txt
: >"$res"
note() { echo "$*" | tee -a "$res"; }
note "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
note "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"

bench_start_berthd
bench_start_dockerd
sleep 2
cd_pid=$(bench_containerd_pid)
idle_berth_start=$(bench_rss_kib "$BERTHD_PID")
idle_docker_start=$(bench_rss_kib "$DOCKERD_PID" "$cd_pid")
note "versions: dockerd $(docker -H "unix://$DOCKER_SOCK" version -f '{{.Server.Version}}'), containerd $(containerd --version | awk '{ print $3 }'), runc $(runc --version | awk 'NR == 1 { print $3 }'); docker CLI $(docker version -f '{{.Client.Version}}' 2>/dev/null)"

dk=(-H "unix://$DOCKER_SOCK") bh=(-H "unix://$BERTH_SOCK")
lines=()  # name|command
lines+=("docker CLI -> dockerd, default network (bridge)|$docker ${dk[*]} run --rm busybox true")
lines+=("docker CLI -> dockerd, --network none|$docker ${dk[*]} run --rm --network none busybox true")
lines+=("docker CLI -> berthd, default network|$docker ${bh[*]} run --rm busybox true")
lines+=("docker CLI -> berthd, --network none|$docker ${bh[*]} run --rm --network none busybox true")
have_berth=
if [ -x "$berth" ] && "$berth" "${bh[@]}" run --rm busybox true >/dev/null 2>&1; then
	have_berth=1
	lines+=("berth -> berthd, default network|$berth ${bh[*]} run --rm busybox true")
	lines+=("berth -> berthd, --network none|$berth ${bh[*]} run --rm --network none busybox true")
else
	note "berth CLI: not usable for run at $berth: measured with the docker CLI only"
fi

hf=()
for l in "${lines[@]}"; do
	name=${l%%|*} cmd=${l#*|}
	$cmd >/dev/null || { echo "engine bench: '$cmd' failed" >&2; exit 1; }
	hf+=(-n "$name" "$cmd")
done
hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$out/run.json" "${hf[@]}" | tee "$out/run.txt"

median_ms() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$out/run.json"; }
mean_sd() { jq -r --arg n "$1" '.results[] | select(.command == $n) | "\(.mean * 1000) \(.stddev * 1000)"' "$out/run.json"; }

# ---- many containers ----
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
many() { # label cli... ; sets m_start m_stop m_rm m_shim_rss m_shim_pss m_daemon
	local label=$1 t ids=() i
	shift
	t=$(date +%s%N)
	for i in $(seq "$n"); do
		ids+=("$("$@" run -d --network none busybox sh -c 'trap "exit 0" TERM; sleep 1000 & wait')")
	done
	m_start=$(ms_since "$t")
	sleep 2
	local shims
	if [[ $label == *dockerd* ]]; then
		shims=$(pgrep -f "containerd-shim-runc-v2 .*$BENCH_DIR" || true)
		m_daemon=$(bench_rss_kib "$DOCKERD_PID" "$cd_pid")
	else
		shims=$(pgrep -f "berth-shim .*$BENCH_DIR" || true)
		m_daemon=$(bench_rss_kib "$BERTHD_PID")
	fi
	local count
	count=$(echo "$shims" | grep -c . || true)
	[ "$count" -eq "$n" ] || echo "engine bench: $label: $count shims for $n containers" >&2
	# shellcheck disable=SC2086
	m_shim_rss=$(($(bench_rss_kib $shims) / count)) m_shim_pss=$(($(bench_pss_kib $shims) / count))
	t=$(date +%s%N)
	"$@" stop "${ids[@]}" >/dev/null
	m_stop=$(ms_since "$t")
	t=$(date +%s%N)
	"$@" rm "${ids[@]}" >/dev/null
	m_rm=$(ms_since "$t")
}

declare -A M
for e in "docker CLI -> dockerd|$docker ${dk[*]}" "docker CLI -> berthd|$docker ${bh[*]}" ${have_berth:+"berth -> berthd|$berth ${bh[*]}"}; do
	label=${e%%|*}
	# shellcheck disable=SC2086
	many "$label" ${e#*|}
	M[$label]="$m_start $m_stop $m_rm $m_shim_rss $m_shim_pss $m_daemon"
	note "many: $label: start $m_start ms, stop $m_stop ms, rm $m_rm ms; per container: shim RSS $m_shim_rss KiB, PSS $m_shim_pss KiB; daemon(s) RSS with $n running: $m_daemon KiB"
done

sleep 2
idle_berth_end=$(bench_rss_kib "$BERTHD_PID")
idle_docker_end=$(bench_rss_kib "$DOCKERD_PID" "$cd_pid")
note "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- report ----
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	echo
	echo "### run --rm busybox true (hyperfine -N, $runs runs, $warmup warmup; median, mean ± sd)"
	echo
	echo "| client -> daemon, network | median | mean ± sd | / docker->dockerd same network |"
	echo "|---|---|---|---|"
	for l in "${lines[@]}"; do
		name=${l%%|*}
		base="docker CLI -> dockerd, default network (bridge)"
		[[ $name == *none* ]] && base="docker CLI -> dockerd, --network none"
		read -r mean sd <<<"$(mean_sd "$name")"
		printf '| %s | %.1f ms | %.1f ± %.1f ms | %s |\n' "$name" "$(median_ms "$name")" "$mean" "$sd" "$(ratio "$(median_ms "$name")" "$(median_ms "$base")")"
	done
	echo
	echo "### $n containers (run -d one after the other, one stop, one rm; --network none)"
	echo
	echo "| client -> daemon | start $n | stop $n | rm $n | shim RSS / container | shim PSS / container | daemon RSS, $n running |"
	echo "|---|---|---|---|---|---|---|"
	read -r ds dst drm drss dpss dd <<<"${M["docker CLI -> dockerd"]}"
	for label in "docker CLI -> dockerd" "docker CLI -> berthd" ${have_berth:+"berth -> berthd"}; do
		read -r s st rm rss pss dm <<<"${M[$label]}"
		printf '| %s | %s ms (%s) | %s ms (%s) | %s ms (%s) | %s (%s) | %s (%s) | %s |\n' "$label" \
			"$s" "$(ratio "$s" "$ds")" "$st" "$(ratio "$st" "$dst")" "$rm" "$(ratio "$rm" "$drm")" \
			"$(mib "$rss")" "$(ratio "$rss" "$drss")" "$(mib "$pss")" "$(ratio "$pss" "$dpss")" "$(mib "$dm")"
	done
	echo
	echo "(ratios in brackets: / docker CLI -> dockerd; the dockerd daemon RSS is dockerd + containerd)"
	echo
	echo "### idle daemon RSS"
	echo
	echo "| | after start | after the runs |"
	echo "|---|---|---|"
	echo "| berthd | $(mib "$idle_berth_start") | $(mib "$idle_berth_end") |"
	echo "| dockerd + containerd | $(mib "$idle_docker_start") | $(mib "$idle_docker_end") |"
	echo "| berthd / (dockerd + containerd) | $(ratio "$idle_berth_start" "$idle_docker_start") | $(ratio "$idle_berth_end" "$idle_docker_end") |"
} | tee -a "$res"
echo
echo "raw results: $out (run.json, run.txt, results.txt)"
