#!/usr/bin/env bash
# Builds the solution and publishes the NativeAOT binaries into artifacts/bin.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Berth.slnx -c Debug --nologo -v quiet -clp:ErrorsOnly
# The NativeAOT programs (berth-runtime, berth, berth-shim); berthd runs from its build output.
for proj in $(grep -l '<PublishAot>true</PublishAot>' src/*/*.csproj); do
  dotnet publish "$proj" -c Release -o artifacts/bin --nologo -v quiet -clp:ErrorsOnly
done
