#!/usr/bin/env bash
# `npm test`: bring up what the suites need (idempotent, quick when already there), then run every
# suite, unit and e2e. Extra arguments go to jest (npm test -- test/isolation.e2e-spec.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/provision.sh
exec npx jest --runInBand "$@"
