# Sourced by the engine benchmarks: starts and stops an isolated berthd and an isolated
# dockerd (Debian's docker.io, installed for the benchmark only), each with its own data root
# under $BENCH_DIR, its own socket, and a busybox image imported from busybox-static.
#
# dockerd runs in a network namespace of its own (berth-bench-dk), so its docker0 bridge and
# its iptables rules (it sets the FORWARD policy to DROP) never touch the host's network.
# Nothing here is a dependency of Berth or of .ci/run.

: "${BENCH_DIR:?set BENCH_DIR}"
bench_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BERTH_SOCK=$BENCH_DIR/berth.sock
DOCKER_SOCK=$BENCH_DIR/docker.sock
BERTH_CGROUP_PARENT=/berth-bench-$$
DK_NETNS=berth-bench-dk

bench_rss_kib() { # pid... -> summed Rss in KiB (smaps_rollup)
	local sum=0 p v
	for p in "$@"; do
		v=$(awk '/^Rss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

bench_pss_kib() { # pid... -> summed Pss in KiB
	local sum=0 p v
	for p in "$@"; do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

bench_busybox_tar() { # -> path of a busybox-static rootfs tar (made once)
	local tar=$BENCH_DIR/busybox-rootfs.tar root=$BENCH_DIR/busybox-rootfs
	if [ ! -f "$tar" ]; then
		mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root"
		cp /bin/busybox "$root/bin/busybox"
		for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
		printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
		printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
		tar -C "$root" -cf "$tar" .
	fi
	echo "$tar"
}

bench_wait_sock() { # socket seconds
	local i
	for i in $(seq $(($2 * 10))); do
		curl -sf --unix-socket "$1" http://x/_ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "daemon on $1 did not answer /_ping" >&2
	return 1
}

bench_import_busybox() { # socket
	docker -H "unix://$1" import -c 'CMD ["sh"]' "$(bench_busybox_tar)" busybox:latest >/dev/null
}

# berthd from a Release build (the shim, runtime and CLI are the NativeAOT ones in artifacts/bin).
bench_start_berthd() {
	local berthd=${BERTHD:-}
	if [ -z "$berthd" ]; then
		berthd=$bench_repo/artifacts/berthd-release/berthd
		dotnet publish "$bench_repo/src/berthd" -c Release -o "$bench_repo/artifacts/berthd-release" --nologo -v quiet -clp:ErrorsOnly >&2
	fi
	mkdir -p "$BENCH_DIR/berth"
	"$berthd" --data-root "$BENCH_DIR/berth/data" --exec-root "$BENCH_DIR/berth/exec" -H "unix://$BERTH_SOCK" \
		--shim "$bench_repo/artifacts/bin/berth-shim" --runtime "$bench_repo/artifacts/bin/berth-runtime" \
		--cgroup-parent "$BERTH_CGROUP_PARENT" >"$BENCH_DIR/berthd.log" 2>&1 &
	BERTHD_PID=$!
	bench_wait_sock "$BERTH_SOCK" 60
	bench_import_busybox "$BERTH_SOCK"
}

bench_start_dockerd() {
	command -v dockerd >/dev/null || { echo "needs Debian's docker.io for the comparison: apt-get install -y docker.io" >&2; return 1; }
	mkdir -p "$BENCH_DIR/docker"
	ip netns add "$DK_NETNS"
	ip netns exec "$DK_NETNS" ip link set lo up
	# nsenter joins only the network namespace: the cgroup and overlay mounts stay the host's.
	nsenter --net="/run/netns/$DK_NETNS" dockerd --data-root "$BENCH_DIR/docker/data" --exec-root "$BENCH_DIR/docker/exec" \
		-H "unix://$DOCKER_SOCK" --pidfile "$BENCH_DIR/docker/dockerd.pid" --storage-driver overlay2 \
		--log-level warn >"$BENCH_DIR/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	bench_wait_sock "$DOCKER_SOCK" 60
	bench_import_busybox "$DOCKER_SOCK"
}

bench_containerd_pid() { # the containerd that this dockerd started
	pgrep -f "containerd --config $BENCH_DIR/docker/exec/containerd/containerd.toml" | head -1
}

bench_stop_all() {
	set +e
	local s
	for s in "$BERTH_SOCK" "$DOCKER_SOCK"; do
		[ -S "$s" ] || continue
		ids=$(docker -H "unix://$s" ps -aq 2>/dev/null)
		[ -n "$ids" ] && docker -H "unix://$s" rm -f $ids >/dev/null 2>&1
		# user networks: berthd's bridges are on the host
		docker -H "unix://$s" network prune -f >/dev/null 2>&1
	done
	if [ -n "${DOCKERD_PID:-}" ]; then
		kill "$DOCKERD_PID" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
		local cd
		cd=$(pgrep -f "containerd --config $BENCH_DIR/docker/exec" | head -1)
		[ -n "$cd" ] && kill "$cd"
	fi
	if [ -n "${BERTHD_PID:-}" ]; then
		kill "$BERTHD_PID" 2>/dev/null
		wait "$BERTHD_PID" 2>/dev/null
	fi
	# shims started from this run that are still there (only after a failure)
	for p in $(pgrep -f "berth-shim.*$BENCH_DIR") $(pgrep -f "containerd-shim.*$BENCH_DIR"); do kill -9 "$p" 2>/dev/null; done
	sleep 0.2
	grep -o " $BENCH_DIR[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
		for parent in "$h${BERTH_CGROUP_PARENT#/}" "${h}docker"; do
			[ -d "$parent" ] || continue
			# docker's own cgroup parent is only ours to remove if it is empty
			find "$parent" -depth -type d -exec rmdir {} \; 2>/dev/null
		done
	done
	ip netns del "$DK_NETNS" 2>/dev/null
	rm -rf "$BENCH_DIR"
	set -e
}
