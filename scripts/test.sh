#!/usr/bin/env bash
# npm test: every check, in order. Installs the system packages the tests need (see
# ensure-system-deps.sh), builds, type-checks, checks the generated types against the
# schemas, runs every mocha suite on Node-RED 4.1 / Node.js 20, then the node tests on
# Node-RED 5 / Node.js 22 (skip that last step with --main-only).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-deps.sh
node scripts/build.mjs
npx tsc -p panel/tsconfig.json --noEmit
node scripts/gen-types.mjs --check
npx mocha
if [[ ${1:-} != --main-only ]]; then
  bash scripts/test-nr5.sh
fi
