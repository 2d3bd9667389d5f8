#!/usr/bin/env bash
# One command on a fresh machine (as root): install what Berth needs, build it, run a container.
# Nothing is downloaded but Debian and NuGet packages: the container's root filesystem is made
# here from Debian's busybox-static.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (containers need it)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $(grep -vE '^\s*(#|$)' .ci/packages.txt)
./build.sh
bundle=$(mktemp -d /tmp/berth-hello.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
bench/runtime/make-bundle.sh "$bundle" /bin/sh -c 'echo "hello from a Berth container: $(hostname), pid $$, $(id)"'
artifacts/bin/berth-runtime run --bundle "$bundle" "hello-$$"
