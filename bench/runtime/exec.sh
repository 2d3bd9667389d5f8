#!/bin/bash
# OCI runtime exec benchmark: `R exec ID /bin/true` into a running busybox container,
# berth-runtime against runc, side by side in one hyperfine run. This is the path of
# `docker exec` and of every health check.
#
#   bench/runtime/exec.sh [--runs N] [--warmup N] [--gap SECONDS] [--out DIR]
#
# Between two execs hyperfine waits --gap seconds (default 0.2, as between health checks):
# back to back, a runtime that moves its process into the cgroup with a write to cgroup.procs
# finds cgroup v1's threadgroup lock still warm from the previous exec and skips the RCU grace
# period that an exec after a pause waits for.
#
# Each runtime gets a container of its own (`R run -d`, process `sleep 3600`, the
# bundle of make-bundle.sh), which is deleted at the end. Runtimes: runc ($RUNC,
# default: runc on PATH) and berth-runtime ($BERTH_RUNTIME, default:
# artifacts/bin/berth-runtime). Needs: hyperfine, jq, busybox-static; root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runs=30 warmup=3 gap=0.2 out=
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--gap) gap=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
for tool in hyperfine jq; do
	command -v "$tool" >/dev/null || { echo "exec bench: needs $tool (apt-get install -y hyperfine jq)" >&2; exit 1; }
done
runc=$(command -v "${RUNC:-runc}") || { echo "exec bench: runc not found" >&2; exit 1; }
berth=${BERTH_RUNTIME:-$repo/artifacts/bin/berth-runtime}
[ -x "$berth" ] || { echo "exec bench: berth-runtime not found at $berth" >&2; exit 1; }

out=${out:-$(mktemp -d /tmp/berth-bench-exec.XXXXXX)}
mkdir -p "$out"
bundle=$out/bundle
"$here/make-bundle.sh" "$bundle" /bin/sleep 3600 >/dev/null

id_runc=exec-runc-$$ id_berth=exec-berth-$$
cleanup() {
	"$runc" delete --force "$id_runc" >/dev/null 2>&1 || true
	"$berth" delete --force "$id_berth" >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$runc" run -d --bundle "$bundle" "$id_runc" </dev/null >/dev/null
"$berth" run -d --bundle "$bundle" "$id_berth" </dev/null >/dev/null
for r in "$runc:$id_runc" "$berth:$id_berth"; do
	"${r%%:*}" exec "${r##*:}" /bin/true || { echo "exec bench: exec into ${r##*:} failed" >&2; exit 1; }
done

echo "== hyperfine: $runs runs, $warmup warmup, $gap s between execs"
hyperfine -N --warmup "$warmup" --runs "$runs" --prepare "sleep $gap" --export-json "$out/hyperfine.json" \
	-n "runc exec" "$runc exec $id_runc /bin/true" \
	-n "berth-runtime exec" "$berth exec $id_berth /bin/true"

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$out/hyperfine.json"; }
m_runc=$(median "runc exec") m_berth=$(median "berth-runtime exec")
echo
echo "| command | runc median | berth-runtime median | berth/runc |"
echo "|---|---|---|---|"
printf '| exec ID /bin/true | %.1f ms | %.1f ms | %.2f |\n' "$m_runc" "$m_berth" "$(echo "$m_berth $m_runc" | awk '{ print $1 / $2 }')"
echo
echo "raw results: $out (hyperfine.json)"
