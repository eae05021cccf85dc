#!/usr/bin/env bash
# `npm test`: bring up what the suites need (idempotent, quick when already there), then run every
# suite, unit and e2e. Extra arguments go to jest (npm test -- test/isolation.e2e-spec.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/provision.sh
# PGlite (the embedded mode under test) loads its WebAssembly with a dynamic import(), which jest
# on Node 20 supports only with VM modules enabled.
export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules --disable-warning=ExperimentalWarning"
exec npx jest --runInBand "$@"
