#!/usr/bin/env bash
# sitekeeper demo: a site database, its nightly backup and two read-only help-desk replicas, all on this machine.
#
#   demo/demo.sh PATH/TO/sitekeeper        (./run.sh demo builds it and runs this)
#   KEEP=1 demo/demo.sh build/sitekeeper   keep the temp folder (config, archive, state, server logs)
#   SK_LOG_LEVEL=info demo/demo.sh ...      also show sitekeeper's progress log (stderr)
#
# Starts three throwaway PostgreSQL 15 clusters on free loopback ports in a temp folder whose name holds a
# space: cm1 (the active site server) and hd1, hd2 (help-desk replicas). hd1 is reached through libpq, hd2
# through ODBC (psqlODBC). Every server is stopped and the folder removed on exit, also after Ctrl-C or an
# error. As root the server binaries run as the `postgres` user, because PostgreSQL refuses to run as root.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DB=CM_CEN            # mixed case on purpose: every tool must quote it
SK_USER=sitekeeper
HD_USER=helpdesk
HD_PASSWORD=helpdesk-demo   # set by demo/site_schema.sql
SERVERS=(cm1 hd1 hd2)
SK_LOG_LEVEL=${SK_LOG_LEVEL:-warn}   # SK_LOG_LEVEL=info shows each step of the jobs

say() { printf '%s\n' "$*"; }
step() { printf '\n==> %s\n' "$*"; }
die() {  # message, detail lines...; exits with $DIE_RC (default 1)
  printf 'demo: FAILED: %s\n' "$1" >&2
  shift
  local l
  for l in "$@"; do [[ -z $l ]] || sed 's/^/  /' <<<"$l" >&2; done
  exit "${DIE_RC:-1}"
}

# ----- inputs and tools ----------------------------------------------------------------------------------

(($# == 1)) || { echo "usage: $0 PATH/TO/sitekeeper" >&2; exit 2; }
SK=$1
[[ $SK == */* ]] || SK=$(command -v -- "$SK" || true)
[[ -n $SK && -f $SK && -x $SK ]] || die "no sitekeeper binary at '$1'" "build it: cmake -S . -B build && cmake --build build --target sitekeeper"
SK=$(cd -- "$(dirname -- "$SK")" && pwd)/$(basename -- "$SK")
DEMO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
for f in site_schema.sql site_data.sql; do
  [[ -r $DEMO_DIR/$f ]] || die "missing $DEMO_DIR/$f"
done
for t in initdb pg_ctl psql; do
  [[ -x $PGBIN/$t ]] || die "PostgreSQL 15 server binaries not found: no $PGBIN/$t" "install postgresql-15 (./run.sh demo does), or set PGBIN"
done

RUN_PG=()   # prefix for the server binaries (initdb, pg_ctl)
if (($(id -u) == 0)); then
  id -u postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run PostgreSQL as"
  RUN_PG=(runuser -u postgres --)
fi

# ----- temp folder, clean-up -----------------------------------------------------------------------------

WORK=""
STARTED=()     # data dirs of the servers this script started

stop_servers() {
  local i d
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    d=${STARTED[i]}
    "${RUN_PG[@]}" "$PGBIN/pg_ctl" -D "$d" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      "${RUN_PG[@]}" "$PGBIN/pg_ctl" -D "$d" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  done
  STARTED=()
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  ((${#STARTED[@]})) && { say ""; say "==> stopping the demo servers"; }
  stop_servers
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ ${KEEP:-0} == 1 ]]; then
      say "KEEP=1: kept $WORK (config sitekeeper.toml, archive/, state/, server logs in logs/)"
    else
      ((rc == 0)) || say "demo: removing $WORK; run with KEEP=1 to keep it and its server logs" >&2
      rm -rf -- "$WORK"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT
trap 'echo "demo: terminated" >&2; exit 143' TERM

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sitekeeper demo.XXXXXX")
cd -- "$WORK"   # the server binaries as `postgres` must not start in a folder they cannot read
PGROOT=$WORK/pg
SOCKDIR=$PGROOT/run
LOGDIR=$WORK/logs
mkdir -p -- "$PGROOT" "$SOCKDIR" "$LOGDIR" "$WORK/secrets" "$WORK/state" "$WORK/archive"
chmod 700 "$WORK/secrets"
if ((${#RUN_PG[@]})); then
  chmod 711 "$WORK"   # traversable, not listable, by `postgres`
  chown postgres: "$PGROOT" "$SOCKDIR" "$LOGDIR"
  "${RUN_PG[@]}" test -w "$PGROOT" ||
    die "the 'postgres' user cannot reach $WORK" "a parent folder is not traversable; set TMPDIR=/tmp"
fi
chmod 755 "$SOCKDIR"

# ----- free loopback ports -------------------------------------------------------------------------------

port_taken() {  # 0 when something on 127.0.0.1 already uses $1
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$1" <<'EOF' 2>/dev/null && return 1 || return 0
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
EOF
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

declare -A PORT
pick_port() {
  local p n
  for ((n = 0; n < 200; n++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 30000))
    [[ " ${PORT[*]:-} " == *" $p "* ]] && continue
    port_taken "$p" && continue
    printf '%s' "$p"
    return 0
  done
  return 1
}

# ----- three PostgreSQL clusters -------------------------------------------------------------------------

step "start three PostgreSQL 15 servers in \"$WORK\": cm1 (active), hd1 and hd2 (help-desk replicas)"

PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
PWFILE=$WORK/secrets/$SK_USER.pw
(umask 077 && printf '%s\n' "$PASSWORD" >"$PWFILE")
INIT_PW=$PGROOT/initdb.pw   # initdb runs as `postgres`, which cannot read the secrets folder
(umask 077 && printf '%s\n' "$PASSWORD" >"$INIT_PW")
((${#RUN_PG[@]})) && chown postgres: "$INIT_PW"

sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

for s in "${SERVERS[@]}"; do
  PORT[$s]=$(pick_port) || die "no free loopback port found"
  data=$PGROOT/$s
  log=$LOGDIR/$s.log
  "${RUN_PG[@]}" "$PGBIN/initdb" -D "$data" -U "$SK_USER" --pwfile="$INIT_PW" -A scram-sha-256 --auth-local=trust \
    -E UTF8 --locale=C.UTF-8 -N >"$LOGDIR/initdb-$s.log" 2>&1 ||
    die "initdb for $s failed" "log: $LOGDIR/initdb-$s.log" "$(tail -n 5 "$LOGDIR/initdb-$s.log")"
  {
    echo ""
    echo "# sitekeeper demo"
    echo "listen_addresses = '127.0.0.1'"
    echo "port = ${PORT[$s]}"
    echo "unix_socket_directories = $(sql_quote "$SOCKDIR")"
    echo "fsync = off"
    echo "cluster_name = '$s'"
  } | "${RUN_PG[@]}" tee -a "$data/postgresql.conf" >/dev/null
  "${RUN_PG[@]}" touch "$log"
  STARTED+=("$data")
  "${RUN_PG[@]}" "$PGBIN/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1 ||
    die "PostgreSQL server $s did not start" "log: $log" "$(tail -n 8 -- "$log")"
  say "  $s  127.0.0.1:${PORT[$s]}  data: $data"
done
rm -f -- "$INIT_PW"

# psql as the superuser over the local socket (trust), for loading the demo database.
psql_su() { PGCLIENTENCODING=UTF8 "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "${PORT[$1]}" -U "$SK_USER" "${@:2}"; }

step "load the demo site database \"$DB\" into cm1 (demo/site_schema.sql, then demo/site_data.sql)"
LOAD_LOG=$LOGDIR/load.log
{
  psql_su cm1 -d postgres -c "CREATE DATABASE \"$DB\"" &&
    psql_su cm1 -d "$DB" -f "$DEMO_DIR/site_schema.sql" &&
    psql_su cm1 -d "$DB" -f "$DEMO_DIR/site_data.sql"
} >"$LOAD_LOG" 2>&1 || die "loading the demo database failed" "log: $LOAD_LOG" "$(tail -n 8 -- "$LOAD_LOG")"
say "  $(psql_su cm1 -d "$DB" -At -F ', ' -c "SELECT (SELECT count(*) FROM sites) || ' sites',
  (SELECT count(*) FROM resources) || ' managed computers', (SELECT count(*) FROM status_messages) || ' status messages'")"

# ----- sitekeeper configuration --------------------------------------------------------------------------

toml_str() {  # a TOML basic string
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

CFG=$WORK/sitekeeper.toml
step "write the sitekeeper config $CFG (mode 0600; the password sits in a 0600 file, not in the config)"
server_block() {  # name transport
  printf '\n[servers.%s]\nengine = "postgresql"\ntransport = "%s"\nhost = "127.0.0.1"\nport = %s\n' "$1" "$2" "${PORT[$1]}"
  printf 'user = "%s"\npassword_file = "secrets/%s.pw"\nbin_dir = %s\n' "$SK_USER" "$SK_USER" "$(toml_str "$PGBIN")"
  [[ $2 == odbc ]] && printf 'odbc_driver = "PostgreSQL Unicode"\n'
  return 0
}
(
  umask 077
  {
    cat <<EOF
# sitekeeper demo configuration. Relative paths are relative to this file.
[site]
code = "CEN"
database = "$DB"

[state]
path = "state/sitekeeper.db"

[archive]
path = "archive"
keep = 3
EOF
    server_block cm1 native
    server_block hd1 native
    server_block hd2 odbc
    cat <<'EOF'

[roles]
active = "cm1"
replicas = ["hd1", "hd2"]

[replica]
readers = ["helpdesk"]
validate = ["SELECT count(*) FROM sites"]
EOF
  } >"$CFG"
)
chmod 600 "$CFG"
say "  servers: cm1 (active, libpq), hd1 (replica, libpq), hd2 (replica, ODBC \"PostgreSQL Unicode\")"

# ----- sitekeeper --------------------------------------------------------------------------------------

# Server errors logged since the mark: what to look at when a step fails.
declare -A LOG_MARK
mark_logs() {
  local s
  for s in "${SERVERS[@]}"; do LOG_MARK[$s]=$(wc -l <"$LOGDIR/$s.log" 2>/dev/null || echo 0); done
}
new_server_errors() {
  local s lines
  for s in "${SERVERS[@]}"; do
    lines=$(tail -n "+$((${LOG_MARK[$s]:-0} + 1))" -- "$LOGDIR/$s.log" 2>/dev/null | grep -E 'ERROR|FATAL|PANIC' | tail -n 5) || true
    [[ -z $lines ]] || printf '%s\n%s\n' "errors in $LOGDIR/$s.log:" "$(sed 's/^/  /' <<<"$lines")"
  done
}

sk() {  # explanation, then sitekeeper arguments
  local why=$1 rc=0
  shift
  step "$why"
  say "\$ sitekeeper $*"
  mark_logs
  "$SK" --config "$CFG" --log-level "$SK_LOG_LEVEL" "$@" || rc=$?
  ((rc == 0)) || DIE_RC=$rc die "'sitekeeper $*' exited with $rc (config: $CFG)" "$(new_server_errors)"
}

sk "capture: store the logins, grants and server settings that a database backup does not carry" capture
sk "backup: consistent snapshot of $DB on cm1 into the archive, SHA-256 manifest, completion marker last" backup
sk "verify: check the newest backup's completion marker and checksums, and that it is readable" verify
sk "verify --deep: trial restore into a throwaway database, then the integrity checker (pg_amcheck)" verify --deep
sk "refresh: restore the verified backup onto hd1 and hd2 in staging, validate, swap, make read-only" refresh
sk "status: the site, the active server and what each replica serves" status
sk "history: every job run with its outcome and duration" history --limit 10
sk "check: the config, every server, drift against the captured profile, backup age" check

# ----- the help desk on a replica -----------------------------------------------------------------------

HD=hd1
PASSFILE=$WORK/secrets/helpdesk.pgpass
(umask 077 && printf '127.0.0.1:%s:%s:%s:%s\n' "${PORT[$HD]}" "$DB" "$HD_USER" "$HD_PASSWORD" >"$PASSFILE")
hd_psql() {
  PGPASSFILE=$PASSFILE PGCLIENTENCODING=UTF8 "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off \
    "host=127.0.0.1 port=${PORT[$HD]} dbname=$DB user=$HD_USER connect_timeout=10" "$@"
}
# Runs SQL that must be refused and prints the refusal; fails the demo if the replica accepts the write.
# With "privilege", the refusal must come from missing privileges, not from a read-only setting.
must_refuse() {
  local sql=$1 need=${2:-} out
  say "\$ $sql"
  if out=$(hd_psql -c "$sql" 2>&1); then
    die "replica $HD ACCEPTED a write from $HD_USER; it is not read-only" "$out"
  fi
  [[ $out == *"permission denied"* || ( -z $need && $out == *"read-only transaction"* ) ]] ||
    die "the write failed, but not because $HD_USER lacks the privilege" "$out"
  say "  refused: $(grep -m1 -E 'ERROR' <<<"$out" | sed -E 's/^psql:[^E]*//; s/ERROR: +/ERROR: /')"
}

step "help desk: read from replica $HD as '$HD_USER' over TCP (127.0.0.1:${PORT[$HD]})"
say "\$ SELECT count(*) ... ; SELECT ... FROM status_messages ORDER BY record_id DESC LIMIT 3"
hd_psql -c "SELECT count(*) AS managed_computers, count(*) FILTER (WHERE is_obsolete) AS obsolete FROM resources" \
  -c "SELECT record_id, created_at, severity, component FROM status_messages ORDER BY record_id DESC LIMIT 3" ||
  die "the help desk cannot read from $HD"

step "help desk: a write on replica $HD is refused (first by the database's read-only default)"
must_refuse "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) VALUES ('CEN', 'HELPDESK', 1, 'informational', 'HD-PC-01', 'written on a replica')"

step "help desk: BEGIN READ WRITE overrides that setting, but the write is still refused: read-only is a privilege"
must_refuse "BEGIN READ WRITE; UPDATE resources SET is_obsolete = true WHERE name = 'PC-00001'; COMMIT;" privilege

step "done: the help desk reads a complete, verified copy of $DB and cannot change it"
