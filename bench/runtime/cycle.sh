#!/bin/bash
# One container lifecycle with an OCI runtime that has runc's command line:
#   cycle.sh RUNTIME [MODE]
# RUNTIME: runc, crun, berth-runtime, or a path to a runtime binary.
# MODE:
#   create (default)  R create --bundle B ID; R state ID (for the pid);
#                     R start ID; wait for the pid to end; R state ID until
#                     "stopped"; R delete ID
#   run               R run --bundle B ID (foreground: returns when the
#                     container's process exits and removes the container)
# BUNDLE (env) is the bundle to use (default /tmp/berth-bench-bundle, made with
# make-bundle.sh if absent). Each step's failure fails the cycle; a container
# left behind by a failed cycle is force-deleted.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
runtime=${1:?usage: cycle.sh RUNTIME [create|run]}
mode=${2:-create}
bundle=${BUNDLE:-/tmp/berth-bench-bundle}
case $runtime in
berth-runtime) runtime=${BERTH_RUNTIME:-$here/../../artifacts/bin/berth-runtime} ;;
*/*) ;;
*) runtime=$(command -v "$runtime") ;;
esac
[ -f "$bundle/config.json" ] || "$here/make-bundle.sh" "$bundle" >/dev/null

id=bench-$$-$RANDOM
trap '"$runtime" delete --force "$id" >/dev/null 2>&1 || true' ERR

case $mode in
create)
	"$runtime" create --bundle "$bundle" "$id" </dev/null
	# (no jq here: jq 1.6 takes ~35 ms to start, more than runc's own state)
	state=$("$runtime" state "$id")
	[[ $state =~ \"pid\":\ *([0-9]+) ]] || { echo "cycle: no pid in state: $state" >&2; exit 1; }
	pid=${BASH_REMATCH[1]}
	"$runtime" start "$id"
	# wait for the container's process to end without forking: poll
	# /proc/PID/stat with a shell builtin until it is gone or a zombie; then
	# the runtime's own state must say "stopped" (one call, as a rule)
	while read -r _ _ st _ 2>/dev/null <"/proc/$pid/stat" && [ "$st" != Z ]; do :; done
	i=0 status=unknown
	while ((i++ < 10000)); do
		state=$("$runtime" state "$id")
		[[ $state =~ \"status\":\ *\"([a-z]+)\" ]] && status=${BASH_REMATCH[1]}
		[ "$status" = stopped ] && break
	done
	[ "$status" = stopped ] || { echo "cycle: $id never stopped ($status)" >&2; exit 1; }
	"$runtime" delete "$id"
	;;
run)
	"$runtime" run --bundle "$bundle" "$id" </dev/null
	;;
*)
	echo "cycle: unknown mode $mode" >&2
	exit 2
	;;
esac
