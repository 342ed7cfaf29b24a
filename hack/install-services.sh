#!/usr/bin/env bash
# Makes sure the service binaries the integration tests start themselves are
# installed: redis-server, PostgreSQL's initdb + postgres (on PATH or under
# /usr/lib/postgresql/<version>/bin), and Debian's chromium for the usage
# page's browser tests (internal/testenv/browser drives it headless). Tests start private instances on free
# loopback ports (internal/testenv); this script never starts the system
# services and never touches a Redis or PostgreSQL already running.
#
# When something is missing: as root it runs
#   apt-get update && apt-get install -y redis-server postgresql chromium
# otherwise it prints that command and exits 1.
#
# Extra arguments name more Debian packages whose command has the package's
# name, checked the same way (make bench-gateway: hack/install-services.sh nginx wrk).
set -euo pipefail

log() { echo "install-services: $*" >&2; }

have_postgres() {
  if command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1; then
    return 0
  fi
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && return 0
  done
  return 1
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
have_postgres || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
for extra in "$@"; do
  command -v "$extra" >/dev/null 2>&1 || missing+=("$extra")
done

if [ ${#missing[@]} -eq 0 ]; then
  log "redis-server, PostgreSQL and chromium${*:+ and $*} are installed"
  exit 0
fi

cmd="apt-get update && apt-get install -y ${missing[*]}"
if [ "${EUID:-$(id -u)}" -ne 0 ]; then
  log "missing: ${missing[*]}. Install as root with:"
  echo "  $cmd" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "missing: ${missing[*]}, and apt-get is not available: install redis-server, PostgreSQL (server) and chromium with your package manager"
  exit 1
fi
log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y "${missing[@]}"
