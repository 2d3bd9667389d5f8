#!/usr/bin/env bash
# Builds the solution and publishes the NativeAOT binaries into artifacts/bin.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Berth.slnx -c Debug --nologo -v quiet -clp:ErrorsOnly
for app in src/berth-runtime src/berth src/berth-shim src/berthd; do
  [ -f "$app/$(basename "$app").csproj" ] || continue
  dotnet publish "$app" -c Release -o artifacts/bin --nologo -v quiet -clp:ErrorsOnly
done
