#!/usr/bin/env bash
# Regenerates every interoperability vector under testdata/interop/vectors
# from scratch: installs the third-party tools if they are missing, compiles
# the WSS4J driver, runs each producer over testdata/interop/plaintext, writes
# the sidecars, derives the negative vectors and rewrites VECTORS.md.
#
#   testdata/interop/regenerate.sh               everything
#   testdata/interop/regenerate.sh -derive-only  only the negative vectors
#
# Needs root for apt-get (skipped when the packages are already installed).
# The encrypted output is random (keys, IVs, Ids): regenerating changes every
# vector's bytes but not its name, sidecar fields or expected outcome.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=testdata/interop

"$here/install.sh"
go run ./testdata/interop/gen "$@"
