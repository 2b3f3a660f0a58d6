#!/usr/bin/env bash
# Regenerates every interoperability vector from scratch: installs the
# third-party tools if they are missing, compiles the WSS4J driver, then
#   - testdata/interop/vectors (encrypted messages): runs each producer over
#     testdata/interop/plaintext, writes the sidecars, derives the negative
#     vectors and rewrites VECTORS.md (go run ./testdata/interop/gen);
#   - testdata/signed (signed, signed-and-encrypted and attack vectors): has
#     WSS4J sign the same plaintexts, derives the attack vectors, runs WSS4J's
#     engine over all of them and writes the sidecars and VECTORS.md
#     (go run ./testdata/signed/gen).
#
#   testdata/interop/regenerate.sh               everything
#   testdata/interop/regenerate.sh -derive-only  only the negative encryption
#                                                vectors; the signed corpus is
#                                                always made anew, because
#                                                WSS4J's engine check needs
#                                                fresh Timestamps
#
# Needs root for apt-get (skipped when the packages are already installed).
# The output is random (keys, IVs, Ids, Timestamps): regenerating changes
# every vector's bytes but not its name, sidecar fields (other than created
# and expires) or expected outcome.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=testdata/interop

"$here/install.sh"
go run ./testdata/interop/gen "$@"
go run ./testdata/signed/gen
