#!/usr/bin/env bash
# Brings up what the test suite needs: PostgreSQL with pgvector and Redis.
# Idempotent: a second run on a provisioned machine only checks and exits.
# When DATABASE_URL / REDIS_URL are set, those servers are used and nothing is provisioned for them.
set -euo pipefail

log() { printf '[provision] %s\n' "$*"; }
die() { printf '[provision] ERROR: %s\n' "$*" >&2; exit 1; }

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_PORT=6379

can_root() {
  [ "$(id -u)" = 0 ] && return 0
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

hint="Without root and apt, start the services yourself: 'docker compose up -d db redis' and then
  DATABASE_URL=postgres://quiver:quiver@127.0.0.1:5432/quiver REDIS_URL=redis://127.0.0.1:6379 npm test"

# ---------------------------------------------------------------- PostgreSQL
if [ -n "${DATABASE_URL:-}" ]; then
  log "DATABASE_URL is set: using it, not provisioning PostgreSQL"
else
  if ! pg_isready -h "$PG_HOST" -p "$PG_PORT" -q 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && can_root; then
      ver=$(ls /etc/postgresql | sort -V | tail -n1)
      log "starting PostgreSQL $ver"
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start
      for _ in $(seq 1 30); do pg_isready -h "$PG_HOST" -p "$PG_PORT" -q && break; sleep 0.5; done
    fi
    pg_isready -h "$PG_HOST" -p "$PG_PORT" -q || die "PostgreSQL is not running on $PG_HOST:$PG_PORT. $hint"
  fi
  server_major=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -Atqc 'show server_version_num' | cut -c1-2)
  sharedir=$(/usr/lib/postgresql/"$server_major"/bin/pg_config --sharedir 2>/dev/null || pg_config --sharedir)
  if [ -f "$sharedir/extension/vector.control" ]; then
    log "pgvector already installed for PostgreSQL $server_major"
  else
    { can_root && command -v apt-get >/dev/null 2>&1; } || die "pgvector is not installed and this script cannot install it (needs root and apt). $hint"
    log "building pgvector from Debian's source package for PostgreSQL $server_major"
    src=/etc/apt/sources.list.d/quiver-pgvector-src.sources
    if [ ! -f "$src" ]; then
      as_root tee "$src" >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "postgresql-server-dev-$server_major" make gcc >/dev/null
    work=$(mktemp -d)
    (cd "$work" && apt-get source --download-only pgvector >/dev/null 2>&1 && tar xzf pgvector_*.orig.tar.gz)
    dir=$(find "$work" -maxdepth 1 -type d -name 'pgvector-*' | head -n1)
    [ -n "$dir" ] || die "could not unpack Debian's pgvector source"
    make -s -C "$dir" PG_CONFIG="/usr/lib/postgresql/$server_major/bin/pg_config" >/dev/null
    as_root make -s -C "$dir" PG_CONFIG="/usr/lib/postgresql/$server_major/bin/pg_config" install >/dev/null
    rm -rf "$work"
    [ -f "$sharedir/extension/vector.control" ] || die "pgvector build finished but vector.control is missing"
    log "pgvector installed"
  fi
fi

# ---------------------------------------------------------------- Redis
if [ -n "${REDIS_URL:-}" ]; then
  log "REDIS_URL is set: using it, not provisioning Redis"
else
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    command -v redis-server >/dev/null 2>&1 || die "Redis is not running on 127.0.0.1:$REDIS_PORT and redis-server is not installed. $hint"
    log "starting Redis"
    mkdir -p /tmp/quiver-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir /tmp/quiver-redis --logfile /tmp/quiver-redis/redis.log
    for _ in $(seq 1 30); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || die "Redis did not start. $hint"
  fi
  log "Redis is up"
fi

# ---------------------------------------------------------------- OpenLDAP (the LDAP sign-in tests' directory)
# The suites start their own slapd from a temp dir on a spare loopback port; only the binaries are
# needed. Debian's package starts and configures a system slapd on :389: stop and disable it, so
# nothing of it runs or answers on the standard port.
if command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ]; then
  if command -v ldapadd >/dev/null 2>&1; then
    log "slapd and ldap-utils already installed"
  else
    { can_root && command -v apt-get >/dev/null 2>&1; } || die "ldap-utils (ldapadd) is missing and this script cannot install it (needs root and apt)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq ldap-utils >/dev/null
  fi
else
  { can_root && command -v apt-get >/dev/null 2>&1; } || die "slapd is not installed and this script cannot install it (needs root and apt): apt-get install slapd ldap-utils"
  log "installing slapd and ldap-utils"
  # No questions asked, and no service started by the package's scripts (policy-rc.d exit 101 tells
  # invoke-rc.d not to start anything); removed again whatever happens.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    own_policy=1
  fi
  trap '[ "$own_policy" = 1 ] && as_root rm -f "$policy"' EXIT
  as_root apt-get update -qq
  echo 'slapd slapd/no_configuration boolean true' | as_root debconf-set-selections
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq slapd ldap-utils >/dev/null
  [ "$own_policy" = 1 ] && as_root rm -f "$policy"
  trap - EXIT
  # Nor started at boot by the SysV links the package made.
  command -v update-rc.d >/dev/null 2>&1 && as_root update-rc.d slapd disable >/dev/null 2>&1 || true
  log "slapd installed"
fi
# Whatever installed it: no system slapd left running or enabled (the suites run their own).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  as_root systemctl disable --now slapd >/dev/null 2>&1 || true
fi
if [ -f /run/slapd/slapd.pid ] && can_root; then
  log "stopping the system slapd (the suites start their own)"
  as_root kill "$(cat /run/slapd/slapd.pid)" 2>/dev/null || true
fi
log "ready"
