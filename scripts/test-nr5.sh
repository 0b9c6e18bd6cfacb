#!/usr/bin/env bash
# npm run test:nr5: every test on Node.js 22, with the Node-RED node tests on Node-RED 5.
# Both come from the npm registry (the "node@22" package ships the Node.js binary)
# into .cache/nr5, which is git-ignored and reused between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=.cache/nr5
want_nr=5
if [[ ! -x $prefix/node_modules/node/bin/node || ! -f $prefix/node_modules/node-red/package.json ]] \
   || [[ $(node -p "require('./$prefix/node_modules/node-red/package.json').version.split('.')[0]") != "$want_nr" ]]; then
  echo "Installing Node.js 22 and Node-RED 5 into $prefix ..."
  mkdir -p "$prefix"
  [[ -f $prefix/package.json ]] || echo '{"name":"nr5-test-runtime","private":true}' > "$prefix/package.json"
  npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error node@22 node-red@5 >/dev/null
fi
node22="$PWD/$prefix/node_modules/node/bin/node"
[[ -d dist/test ]] || node scripts/build.mjs
echo "Node-RED $(node -p "require('./$prefix/node_modules/node-red/package.json').version") on Node.js $("$node22" --version)"
# Every test again on Node.js 22; the node tests load Node-RED 5 through NODE_RED_PATH.
NODE_RED_PATH="$PWD/$prefix/node_modules/node-red" "$node22" node_modules/mocha/bin/mocha.js
