# Sourced by scripts/test and scripts/gateway: installs what a fresh machine lacks, then builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

ensure_redis_server() {
  command -v redis-server >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing redis-server (apt)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2
  else
    echo "redis-server is needed by the tests (they start their own on a free loopback port)." >&2
    echo "Install it: sudo apt-get install -y redis-server   (or your OS's redis package), then run this again." >&2
    exit 1
  fi
}

echo "== build" >&2
npx --no-install tsc -p tsconfig.build.json
