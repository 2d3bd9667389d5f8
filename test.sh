#!/usr/bin/env bash
# Runs every test (unit and, as root, integration on the real kernel) after building.
set -uo pipefail
cd "$(dirname "$0")"
./build.sh || exit 1
log=$(mktemp)
dotnet test Berth.slnx --no-build --nologo 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# dotnet test prints one summary per test assembly; add them up into one closing line.
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
