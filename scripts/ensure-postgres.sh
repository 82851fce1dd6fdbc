#!/usr/bin/env bash
# Make sure PostgreSQL's server programs (initdb, pg_ctl) are installed, for the tests'
# throwaway clusters (tests/support/postgres.py). Idempotent: does nothing when they are
# there. Installs Debian's `postgresql` otherwise, without creating or starting the
# system cluster: the tests run their own server, as the `postgres` user, on loopback.
set -euo pipefail

have_server() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        return 0
    fi
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if have_server; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgres: no initdb/pg_ctl and no apt-get; install PostgreSQL's server" >&2
    exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        echo "ensure-postgres: PostgreSQL is missing; run as root (or with sudo) to install it" >&2
        exit 1
    fi
fi

echo "ensure-postgres: installing PostgreSQL from Debian packages" >&2

# No service may start while the packages install (invoke-rc.d asks policy-rc.d first),
# and no `main` cluster is created (postgresql-common reads createcluster.conf).
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    CREATED_POLICY=1
fi
cleanup() {
    if [ "$CREATED_POLICY" = 1 ]; then
        "${SUDO[@]}" rm -f "$POLICY"
    fi
}
trap cleanup EXIT

CONF=/etc/postgresql-common/createcluster.conf
if [ ! -e "$CONF" ]; then
    "${SUDO[@]}" mkdir -p "$(dirname "$CONF")"
    echo "create_main_cluster = false" | "${SUDO[@]}" tee "$CONF" >/dev/null
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    --no-install-recommends postgresql

if ! have_server; then
    echo "ensure-postgres: installed, but initdb/pg_ctl are still missing" >&2
    exit 1
fi
echo "ensure-postgres: $(compgen -G '/usr/lib/postgresql/*/bin/initdb' | head -n 1)" >&2
