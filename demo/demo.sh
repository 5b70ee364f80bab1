#!/usr/bin/env bash
# sitekeeper demo: a site database, its nightly backup, two read-only help-desk replicas, then a passive
# standby and a failover to it, all on this machine.
#
#   demo/demo.sh PATH/TO/sitekeeper        (./run.sh demo builds it and runs this)
#   KEEP=1 demo/demo.sh build/sitekeeper   keep the temp folder (config, archive, state, server logs)
#   SK_LOG_LEVEL=info demo/demo.sh ...      also show sitekeeper's progress log (stderr)
#
# Starts three throwaway PostgreSQL 15 clusters on free loopback ports in a temp folder whose name holds a
# space: cm1 (the active site server) and hd1, hd2 (help-desk replicas). hd1 is reached through libpq, hd2
# through ODBC (psqlODBC). After the nightly cycle, sitekeeper builds a fourth server, cm2, as cm1's
# streaming standby; the demo kills cm1 (SIGKILL of its postmaster), fails over to cm2 and rejoins cm1 as
# cm2's standby. Every server is stopped and the folder removed on exit, also after Ctrl-C or an error,
# including the ones sitekeeper started itself (cm2, and cm1 after the rejoin). As root the server
# binaries run as the `postgres` user, because PostgreSQL refuses to run as root.
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
for t in initdb pg_ctl psql pg_isready; do
  [[ -x $PGBIN/$t ]] || die "PostgreSQL 15 server binaries not found: no $PGBIN/$t" "install postgresql-15 (./run.sh demo does), or set PGBIN"
done

RUN_PG=()   # prefix for the server binaries (initdb, pg_ctl)
if (($(id -u) == 0)); then
  id -u postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run PostgreSQL as"
  RUN_PG=(runuser -u postgres --)
fi

# ----- temp folder, clean-up -----------------------------------------------------------------------------

WORK=""
STARTED=()     # data dirs of the servers this script started, or sitekeeper starts (cm2, cm1 after the rejoin)

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
    if [[ $s == cm1 ]]; then
      echo "wal_log_hints = on   # pg_rewind needs it: 'sitekeeper rejoin' rewinds the old active"
      # no cluster_name: pg_basebackup copies this file to the standby cm2, which would show up as cm1
    else
      echo "cluster_name = '$s'"
    fi
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
FENCE=$WORK/fence-demo.sh   # the [failover] fence command, written with the standby
step "write the sitekeeper config $CFG (mode 0600; the password sits in a 0600 file, not in the config)"
server_block() {  # name transport
  printf '\n[servers.%s]\nengine = "postgresql"\ntransport = "%s"\nhost = "127.0.0.1"\nport = %s\n' "$1" "$2" "${PORT[$1]}"
  printf 'user = "%s"\npassword_file = "secrets/%s.pw"\nbin_dir = %s\n' "$SK_USER" "$SK_USER" "$(toml_str "$PGBIN")"
  # cm1 and cm2 are built, stopped, rewound and started by sitekeeper itself (standby init, rejoin).
  [[ $1 == cm? ]] && printf 'data_dir = %s\n' "$(toml_str "$PGROOT/$1")"
  [[ $2 == odbc ]] && printf 'odbc_driver = "PostgreSQL Unicode"\n'
  return 0
}
write_config() {  # [standby]: also cm2 as the passive standby, and the [failover] table
  local standby=${1:-}
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
      [[ -z $standby ]] || server_block cm2 native
      server_block hd1 native
      server_block hd2 odbc
      printf '\n[roles]\nactive = "cm1"\n'
      [[ -z $standby ]] || printf 'standby = "cm2"\n'
      cat <<'EOF'
replicas = ["hd1", "hd2"]

[replica]
readers = ["helpdesk"]
validate = ["SELECT count(*) FROM sites"]
EOF
      [[ -z $standby ]] || cat <<EOF

[failover]
# cm2 is promoted only once cm1 refuses writes: fenced through SQL when it answers, else by this
# command, which "powers it off" (a real site calls its power switch or its hypervisor here).
fence = [$(toml_str "$FENCE"), "{server}"]
serial_headroom = 1000
EOF
    } >"$CFG.new"
  )
  chmod 600 "$CFG.new"
  mv -f -- "$CFG.new" "$CFG"
}
write_config
say "  servers: cm1 (active, libpq), hd1 (replica, libpq), hd2 (replica, ODBC \"PostgreSQL Unicode\")"

# ----- sitekeeper --------------------------------------------------------------------------------------

# Server errors logged since the mark: what to look at when a step fails. The servers sitekeeper starts
# log to sitekeeper-pg_ctl.log in their data dir; logs/ links to those files.
SERVER_LOGS=()
for s in "${SERVERS[@]}"; do SERVER_LOGS+=("$LOGDIR/$s.log"); done
declare -A LOG_MARK
mark_logs() {
  local f
  for f in "${SERVER_LOGS[@]}"; do LOG_MARK[$f]=$(wc -l 2>/dev/null <"$f" || echo 0); done
}
new_server_errors() {
  local f lines
  for f in "${SERVER_LOGS[@]}"; do
    lines=$(tail -n "+$((${LOG_MARK[$f]:-0} + 1))" -- "$f" 2>/dev/null | grep -E 'ERROR|FATAL|PANIC' | tail -n 5) || true
    [[ -z $lines ]] || printf '%s\n%s\n' "errors in $f:" "$(sed 's/^/  /' <<<"$lines")"
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

step "nightly cycle done: the help desk reads a complete, verified copy of $DB and cannot change it"

# ----- the passive standby, a failover, the rejoin ------------------------------------------------------

# The value of a scalar key in a flat JSON document (strings without escapes), or nothing.
json_get() {  # json key
  local re="\"$2\":[[:space:]]*(\"([^\"]*)\"|[^,}[:space:]]*)"
  [[ $1 =~ $re ]] || return 0
  if [[ ${BASH_REMATCH[1]} == \"* ]]; then printf '%s' "${BASH_REMATCH[2]}"; else printf '%s' "${BASH_REMATCH[1]}"; fi
}

# Polls 'sitekeeper standby status --json' until $1 is the standby, in recovery, streaming from the active
# with no lag (every byte the active wrote is replayed), then prints one line; dies after $2 seconds.
standby_in_sync() {  # server seconds
  local want=$1 end=$((SECONDS + $2)) j
  say "\$ sitekeeper standby status --json"
  for (( ; ; )); do
    j=$("$SK" --config "$CFG" --log-level error --json standby status 2>&1) || true
    [[ $(json_get "$j" standby) == "$want" && $(json_get "$j" role) == standby && $(json_get "$j" state) == streaming &&
      $(json_get "$j" lag_bytes) == 0 && $(json_get "$j" healthy) == true ]] && break
    ((SECONDS < end)) || die "standby $want did not stream in sync within $2 s" "last 'sitekeeper standby status --json':" "$j" \
      "$(new_server_errors)"
    sleep 0.2
  done
  say "  $want: role $(json_get "$j" role), $(json_get "$j" state) from $(json_get "$j" active) (epoch $(json_get "$j" epoch)), lag $(json_get "$j" lag_bytes) bytes, $(json_get "$j" lag_seconds) s"
}

# True while process $1 runs (a zombie does not).
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $st != Z* ]]; }
# The pid of the postmaster running on data dir $1, or nothing (its pid file may be stale after a kill).
postmaster_pid() {
  local pid
  pid=$(head -n 1 -- "$1/postmaster.pid" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && [[ /proc/$pid/cwd -ef $1 ]] && printf '%s' "$pid"
  return 0
}

PORT[cm2]=$(pick_port) || die "no free loopback port found"
CM2=$PGROOT/cm2
step "standby: cm2, a fourth server: an empty data directory, 127.0.0.1:${PORT[cm2]}, [roles] standby in the config"
mkdir -m 700 -- "$CM2"
((${#RUN_PG[@]})) && chown postgres: "$CM2"
# sitekeeper starts cm2 itself (pg_ctl -l DATA/sitekeeper-pg_ctl.log): the clean-up stops it too.
STARTED+=("$CM2")
ln -s -- "$CM2/sitekeeper-pg_ctl.log" "$LOGDIR/cm2.log"
SERVER_LOGS+=("$LOGDIR/cm2.log")
{
  printf '#!/usr/bin/env bash\n'
  printf '# sitekeeper demo fence: "powers off" a demo server by killing its postmaster if it still runs; exits 0\n'
  printf '# once it is off. A real site calls its power switch or its hypervisor here.\n'
  printf 'set -euo pipefail\n'
  printf 'declare -A DATA=([cm1]=%q [cm2]=%q)\n' "$PGROOT/cm1" "$CM2"
  declare -f alive postmaster_pid
  cat <<'EOF'
d=${DATA[${1:-}]:-}
[[ -n $d ]] || { echo "fence: unknown server '${1:-}'" >&2; exit 2; }
pid=$(postmaster_pid "$d")
[[ -n $pid ]] || { echo "fence: $1 is off"; exit 0; }
kill -KILL "$pid"
for ((i = 0; i < 100; i++)); do alive "$pid" || { echo "fence: $1 powered off (postmaster $pid killed)"; exit 0; }; sleep 0.1; done
echo "fence: the postmaster of $1 (pid $pid) still runs" >&2
exit 1
EOF
} >"$FENCE"
chmod 700 "$FENCE"
write_config standby
say "  cm2  127.0.0.1:${PORT[cm2]}  data: $CM2 (empty); [roles] standby = \"cm2\", [failover] fence = [fence-demo.sh, \"{server}\"]"

sk "standby init: a replication slot on cm1, pg_basebackup into cm2, then sitekeeper starts cm2 streaming" standby init
standby_in_sync cm2 60

step "write 5 status messages on cm1: record_id comes from the sequence behind its bigserial column"
say "\$ INSERT INTO status_messages ... RETURNING record_id  (5 rows)"
ids=$(psql_su cm1 -d "$DB" -At -c "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message)
  SELECT 'CEN', 'SMS_DEMO', 4000 + n, 'informational', 'CM1', 'written on cm1 before it died' FROM generate_series(1, 5) n
  RETURNING record_id" 2>&1) || die "writing on cm1 failed" "$ids"
ids=$(tr '\n' ' ' <<<"$ids")
OLD_MAX=$(psql_su cm1 -d "$DB" -At -c "SELECT pg_sequence_last_value(pg_get_serial_sequence('status_messages', 'record_id'))" 2>&1) ||
  die "reading the sequence on cm1 failed" "$OLD_MAX"
[[ $OLD_MAX =~ ^[0-9]+$ ]] || die "cm1's sequence has no value" "$OLD_MAX"
say "  record_id ${ids% }; the highest record_id cm1 handed out: $OLD_MAX"
standby_in_sync cm2 30

step "kill cm1: SIGKILL of its postmaster, no shutdown, like a machine that loses power"
pid=$(postmaster_pid "$PGROOT/cm1")
[[ -n $pid ]] || die "cm1 does not run"
kids=$(pgrep -P "$pid" | tr '\n' ' ' || true)
say "\$ kill -KILL $pid"
kill -KILL "$pid"
end=$((SECONDS + 30))
for p in $pid $kids; do  # its server processes notice the postmaster's death and exit
  while alive "$p"; do
    ((SECONDS < end)) || die "cm1's server process $p still runs 30 s after its postmaster was killed" "$(ps -o pid,args -p "$p")"
    sleep 0.1
  done
done
# Until init reaps the dead postmaster, pg_ctl (and so sitekeeper) takes its zombie for a running server.
end=$((SECONDS + 20))
while [[ -e /proc/$pid ]] && ((SECONDS < end)); do sleep 0.1; done
[[ -e /proc/$pid ]] && say "  (init has not reaped cm1's dead postmaster $pid within 20 s: pg_ctl may take it for a running server)"
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "${PORT[cm1]}" -t 2 && die "cm1 still answers on 127.0.0.1:${PORT[cm1]}"
say "  cm1 and its $(wc -w <<<"$kids") server processes are gone; nothing answers on 127.0.0.1:${PORT[cm1]}"

step "failover --plan: what the failover will do, cm1 -> cm2"
say "\$ sitekeeper failover --plan --json"
plan=$("$SK" --config "$CFG" --log-level "$SK_LOG_LEVEL" --json failover --plan 2>&1) || die "'sitekeeper failover --plan' failed" "$plan"
PLAN_STEPS=$(grep -oE '"name": *"[a-z_]+"' <<<"$plan" | sed -E 's/.*"([a-z_]+)"$/\1/' | tr '\n' ' ') || true
[[ -n $PLAN_STEPS ]] || die "'sitekeeper failover --plan --json' lists no steps" "$plan"
say "  $(json_get "$plan" from) -> $(json_get "$plan" to), epoch $(json_get "$plan" epoch): ${PLAN_STEPS% }"

step "failover --yes: cm1 does not answer, so [failover] fence \"powers it off\" (else: power it off, add --old-active-is-down)"
say "\$ sitekeeper failover --yes"
FAILOVER_LOG=$LOGDIR/failover.log   # its progress log: one "step NAME done: ..." line per step
LOG_LEVEL=info
[[ $SK_LOG_LEVEL == debug || $SK_LOG_LEVEL == trace ]] && LOG_LEVEL=$SK_LOG_LEVEL
mark_logs
rc=0
out=$("$SK" --config "$CFG" --log-level "$LOG_LEVEL" failover --yes 2>"$FAILOVER_LOG") || rc=$?
[[ $SK_LOG_LEVEL == info || $SK_LOG_LEVEL == debug || $SK_LOG_LEVEL == trace ]] && cat -- "$FAILOVER_LOG" >&2
((rc == 0)) || DIE_RC=$rc die "'sitekeeper failover --yes' exited with $rc (config: $CFG)" "$out" \
  "$(grep -E '^(error|HINT):| (warning|error|critical) \[' "$FAILOVER_LOG" | grep -v ' \[jobs\] job failover failed' | tail -n 8)" \
  "log: $FAILOVER_LOG" "$(new_server_errors)"
done_steps=$(sed -nE 's/.* step ([a-z_]+) done: (.*)$/\1 \2/p' "$FAILOVER_LOG")
while read -r name detail; do
  printf '  %-12s %s\n' "$name" "$detail"
  if [[ $name == lag && $detail == *unknown* ]]; then
    printf '  %-12s %s\n' "" "(no daemon recorded cm1's last WAL position; cm2 had replayed every write before the kill: lag 0 above)"
  fi
done <<<"$done_steps"
[[ $(cut -d' ' -f1 <<<"$done_steps" | tr '\n' ' ') == "$PLAN_STEPS" ]] ||
  die "the failover's finished steps are not the plan's" "plan: $PLAN_STEPS" "done: $(cut -d' ' -f1 <<<"$done_steps" | tr '\n' ' ')" "log: $FAILOVER_LOG"
say "  $out"

step "help desk: '$HD_USER' still logs in, on the new active cm2 and on replica hd1"
printf '127.0.0.1:%s:%s:%s:%s\n' "${PORT[cm2]}" "$DB" "$HD_USER" "$HD_PASSWORD" >>"$PASSFILE"
say "\$ SELECT current_user, count(*) FROM status_messages"
for HD in cm2 hd1; do
  n=$(hd_psql -At -F ' ' -c "SELECT current_user, count(*) FROM status_messages" 2>&1) || die "the help desk cannot log in on $HD" "$n"
  say "  $HD: logged in as ${n% *}, reads ${n##* } status messages$([[ $HD == hd1 ]] && echo " (last night's copy)")"
done

step "serials continue above cm1's: each sequence moved to max(daemon's high-water mark, cm2's own value) + serial_headroom 1000"
say "\$ INSERT INTO status_messages ... RETURNING record_id  (on cm2)"
NEW_ID=$(psql_su cm2 -d "$DB" -At -c "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message)
  VALUES ('CEN', 'SMS_DEMO', 4100, 'informational', 'CM2', 'written on cm2 after the failover') RETURNING record_id" 2>&1) ||
  die "writing on cm2 failed" "$NEW_ID"
if ! [[ $NEW_ID =~ ^[0-9]+$ ]] || ((NEW_ID <= OLD_MAX)); then
  die "record_id $NEW_ID on cm2 is not above $OLD_MAX, the highest cm1 handed out" "$NEW_ID"
fi
say "  record_id $NEW_ID on cm2 > $OLD_MAX, the highest cm1 handed out$(grep -q '^serials .*(0 marks' <<<"$done_steps" &&
  echo " (no daemon ran here: cm2's own value counted)")"

# sitekeeper starts cm1 again (pg_ctl -l DATA/sitekeeper-pg_ctl.log); it was in STARTED from the first.
ln -s -- "$PGROOT/cm1/sitekeeper-pg_ctl.log" "$LOGDIR/cm1-rejoined.log"
SERVER_LOGS+=("$LOGDIR/cm1-rejoined.log")
sk "rejoin: sitekeeper stops what is left of cm1, rewinds it onto cm2 (pg_rewind), starts it as cm2's standby" rejoin
standby_in_sync cm1 60
psql_su cm1 -d "$DB" -At -c "SELECT 1 FROM status_messages WHERE record_id = $NEW_ID" 2>/dev/null | grep -qx 1 ||
  die "cm1 streams, but it does not have record_id $NEW_ID written on cm2"
say "  cm1 has replayed record_id $NEW_ID, written on cm2"

step "done: cm2 is the active server, cm1 its standby; the help desk never lost its replicas"
