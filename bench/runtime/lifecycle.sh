#!/bin/bash
# OCI runtime lifecycle benchmark: berth-runtime against runc, side by side in
# one hyperfine run, plus the peak RSS of each runtime command.
#
#   bench/runtime/lifecycle.sh [--runs N] [--warmup N] [--rss-runs N] [--out DIR]
#
# Measurements (each a whole cycle):
#   shim    R create --pid-file; R start; reap the container's process; R delete:
#           the sequence containerd's shim runs, driven by a small C program
#           (cycle.c, built here with cc) so that nothing else is measured
#   create  the same from bash (cycle.sh), which also polls R state: for the pid,
#           and until "stopped" after the process has gone
#   run     R run (foreground, removes the container when /bin/true exits)
# Runtimes: runc ($RUNC, default: runc on PATH) and berth-runtime
# ($BERTH_RUNTIME, default: artifacts/bin/berth-runtime, from
# `dotnet publish src/berth-runtime -c Release -o artifacts/bin`). Without
# berth-runtime it says so and measures runc alone.
# Needs: hyperfine, jq, GNU time (/usr/bin/time), cc, busybox-static; root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runs=30 warmup=3 rss_runs=10 out=
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--rss-runs) rss_runs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
for tool in hyperfine jq /usr/bin/time cc; do
	command -v "$tool" >/dev/null || { echo "lifecycle: needs $tool (apt-get install -y hyperfine jq time gcc)" >&2; exit 1; }
done

runc=$(command -v "${RUNC:-runc}") || { echo "lifecycle: runc not found" >&2; exit 1; }
berth=${BERTH_RUNTIME:-$repo/artifacts/bin/berth-runtime}
names=(runc) paths=("$runc")
if [ -x "$berth" ]; then
	names+=(berth-runtime) paths+=("$berth")
else
	echo "lifecycle: berth-runtime not found at $berth: measuring runc only" >&2
fi

out=${out:-$(mktemp -d /tmp/berth-bench-runtime.XXXXXX)}
mkdir -p "$out"
export BUNDLE=$out/bundle
"$here/make-bundle.sh" "$BUNDLE" /bin/true >/dev/null
shim=$out/cycle-shim
cc -O2 -Wall -o "$shim" "$here/cycle.c"

# sanity: every runtime completes both cycles once before timing
for i in "${!names[@]}"; do
	"$shim" "${paths[$i]}" "$BUNDLE" create || { echo "lifecycle: ${names[$i]} shim cycle failed" >&2; exit 1; }
	for mode in create run; do
		"$here/cycle.sh" "${paths[$i]}" "$mode" || { echo "lifecycle: ${names[$i]} $mode cycle failed" >&2; exit 1; }
	done
done

hf_args=()
for i in "${!names[@]}"; do
	hf_args+=(-n "${names[$i]} shim" "$shim ${paths[$i]} $BUNDLE create")
done
for mode in create run; do
	for i in "${!names[@]}"; do
		hf_args+=(-n "${names[$i]} $mode" "$here/cycle.sh ${paths[$i]} $mode")
	done
done
echo "== hyperfine: $runs runs, $warmup warmup, bundle $BUNDLE"
hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$out/hyperfine.json" \
	--export-markdown "$out/hyperfine.md" "${hf_args[@]}"

# peak RSS (kB, GNU time's %M: the step's process and the children it reaped)
rss() { # runtime step-name args...
	local r=$1 step=$2 f
	shift 2
	f=$(mktemp "$out/rss.XXXXXX")
	/usr/bin/time -f %M -o "$f" "$r" "$@" </dev/null >/dev/null
	echo "$step $(tail -1 "$f")"
	rm -f "$f"
}
for i in "${!names[@]}"; do
	r=${paths[$i]}
	for _ in $(seq "$rss_runs"); do
		id=rss-$$-$RANDOM
		rss "$r" create create --bundle "$BUNDLE" "$id"
		rss "$r" start start "$id"
		until [ "$("$r" state "$id" | jq -r .status)" = stopped ]; do :; done
		rss "$r" state state "$id"
		rss "$r" delete delete "$id"
		rss "$r" run run --bundle "$BUNDLE" "$id-run"
	done >"$out/rss-${names[$i]}.txt"
done

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$out/hyperfine.json"; }
peak() { awk -v s="$2" '$1 == s && $2 > m { m = $2 } END { printf "%.1f", m / 1024 }' "$out/rss-$1.txt"; }
have_berth=${paths[1]:+yes}

echo
echo "== OCI runtime lifecycle (median of $runs; peak RSS in MiB over $rss_runs cycles)"
echo
echo "| cycle | runc median | berth-runtime median | berth/runc |"
echo "|---|---|---|---|"
for mode in shim create run; do
	m_runc=$(median "runc $mode")
	if [ -n "$have_berth" ]; then
		m_berth=$(median "berth-runtime $mode")
		printf '| %s | %.1f ms | %.1f ms | %.2f |\n' "$mode" "$m_runc" "$m_berth" "$(echo "$m_berth $m_runc" | awk '{ print $1 / $2 }')"
	else
		printf '| %s | %.1f ms | pending | - |\n' "$mode" "$m_runc"
	fi
done
echo
echo "| command | runc peak RSS | berth-runtime peak RSS |"
echo "|---|---|---|"
for step in create start state delete run; do
	printf '| %s | %s MiB | %s |\n' "$step" "$(peak runc "$step")" \
		"$([ -n "$have_berth" ] && echo "$(peak berth-runtime "$step") MiB" || echo pending)"
done
echo
echo "raw results: $out (hyperfine.json, hyperfine.md, rss-*.txt)"
