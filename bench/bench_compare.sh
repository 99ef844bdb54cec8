#!/usr/bin/env bash
# bench_compare.sh - `make bench-compare`: the hot-event hold workload in one
# run, on this machine, against boxoffice and the designs a box office would
# pick instead (issue 15; docs/benchmarks.md says the method and the
# figures). Random 2-seat all-or-nothing holds of adjacent seats on one hot
# 20,000-seat event (20 sections x 20 rows x 50, as bench/bench_http.sh),
# each with a 5-minute expiry; a full event is replaced by a fresh one; each
# design at the same numbers of concurrent clients, each client one hold in
# flight, for the same time. The legs:
#   boxoffice_sqlite  boxoffice over HTTP on SQLite, as bench_http.sh runs
#                     it; the requests bench/http/holds.lua sends (every
#                     pair's hold from its own X-Forwarded-For address)
#   boxoffice_pg      the same on PostgreSQL (--db postgresql://…), when
#                     this build has that store; else nan and a line saying so
#   pg_forupdate      PostgreSQL, SELECT … FOR UPDATE in a client transaction
#   pg_condupdate     PostgreSQL, a conditional UPDATE in a PL/pgSQL function
#   redis_always      Redis, a Lua script, AOF with appendfsync always
#   redis_none        Redis, the same script, no persistence
# The last four with no HTTP in front. Every leg's client is
# bench/bench_peers.c (C, epoll, one connection per client, one hold in
# flight each: HTTP/1.1 keep-alive to boxoffice, libpq pipeline mode,
# hiredis's parser), so the legs differ only in their servers. PostgreSQL is a private
# cluster (scripts/pg-cluster: durable defaults, fsync and synchronous_commit
# on), Redis Debian's redis-server on a free loopback port in a temp dir;
# both stopped by their PIDs at the end.
# Each leg checks itself after each level (seats held vs successful holds x
# 2) and prints it. Each leg also prints the machine's CPU use (cores busy,
# from /proc/stat: server, client and any other work together), the
# server's (boxoffice, redis-server) and the client's, and the disk's writes
# and cache flushes per second (/proc/diskstats): what limits it.
# Output: a table of holds/s and p99 per design and clients, the plot
# docs/img/bench-compare.png (gnuplot), and a last line
#   boxoffice_sqlite_holds_per_s=… boxoffice_pg_holds_per_s=…
#   pg_forupdate_holds_per_s=… pg_condupdate_holds_per_s=…
#   redis_always_holds_per_s=… redis_none_holds_per_s=…
# at the largest number of clients (128 by default).
# Knobs: BOXOFFICE_COMPARE_CLIENTS ("16 64 128"), BOXOFFICE_COMPARE_SECONDS
# (per design and level, 8), BOXOFFICE_COMPARE_LEGS (the names above),
# BOXOFFICE_COMPARE_PLOT (the PNG's path), BOXOFFICE_COMPARE_CLIENT_THREADS
# (bench_peers' threads, 2), BOXOFFICE_BENCH_THREADS (the server's
# --threads).
set -euo pipefail
cd "$(dirname "$0")/.."
LEVELS=${BOXOFFICE_COMPARE_CLIENTS:-16 64 128}
DURATION=${BOXOFFICE_COMPARE_SECONDS:-8}
LEGS=${BOXOFFICE_COMPARE_LEGS:-boxoffice_sqlite boxoffice_pg pg_forupdate pg_condupdate redis_always redis_none}
PLOT=${BOXOFFICE_COMPARE_PLOT:-docs/img/bench-compare.png}
BUILD=${BUILD:-build}
SECTIONS=20 ROWS=20 SEATS=50
SEATS_PER_EVENT=$((SECTIONS * ROWS * SEATS))
PAIRS=$((SEATS_PER_EVENT / 2))
export BOXOFFICE_COMPARE_SEATS=$SEATS_PER_EVENT

tmp=$(mktemp -d /tmp/boxoffice-bench-compare-XXXXXX)
# PostgreSQL runs as the postgres user: its directory is its own, under /tmp.
pgdir=/tmp/boxoffice-bench-compare-pg-$$-$RANDOM
server="" redis=""
cleanup() {
    [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
    [ -n "$redis" ] && kill -TERM "$redis" 2>/dev/null && wait "$redis" 2>/dev/null
    [ -d "$pgdir" ] && scripts/pg-cluster stop "$pgdir" && rm -rf "$pgdir"
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# What the machine does during a leg: "<busy jiffies> <all jiffies> <disk
# writes> <disk cache flushes> <server jiffies>" (the disk of /tmp, where
# every store lives; the server is srv_pid, boxoffice or redis-server, when
# it is one process: PostgreSQL's backends end with their connections, so
# its share is the machine's less the client's).
disk=$(basename "$(df --output=source /tmp | tail -1)")
srv_pid=""
machine() {
    echo "$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat)" \
        "$(awk -v d="$disk" '$3 == d {print $8, (NF >= 19 ? $19 : 0); f = 1} END {if (!f) print 0, 0}' /proc/diskstats)" \
        "$([ -n "$srv_pid" ] && awk '{print $14 + $15}' "/proc/$srv_pid/stat" || echo -1)"
}
# "<cores busy> <writes/s> <flushes/s> <server cores>" between two
# machine() samples, the seconds between them third.
machine_delta() {
    echo "$1 $2 $3" | awk -v n="$(nproc)" -v hz="$(getconf CLK_TCK)" '{
        printf "%.2f %.0f %.0f %s", ($6 - $1) / ($7 - $2) * n, ($8 - $3) / $11, ($9 - $4) / $11,
            ($5 < 0 ? "-" : sprintf("%.2f", ($10 - $5) / hz / $11))}'
}

# One result: leg clients holds/s p99_ms check cores writes/s flushes/s
# server_cores client_cores
: >"$tmp/results"
record() {
    echo "$*" >>"$tmp/results"
    echo "$*" | awk '{printf "  %-16s %4d clients: %7s holds/s, p99 %7s ms, check %s; machine %s cores busy (server %s, client %s), disk %s writes/s, %s flushes/s\n",
        $1, $2, $3, $4, $5, $6, $9, $10, $7, $8}'
}

# How busy the machine is before the run (other work): 2 s of /proc/stat.
m0=$(machine)
sleep 2
idle_busy=$(machine_delta "$m0" "$(machine)" 2 | cut -d' ' -f1)
echo "bench-compare: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
    "$idle_busy cores busy before the run; clients ${LEVELS// /, }; ${DURATION} s each; events of $SEATS_PER_EVENT seats"

# --- PostgreSQL: one private cluster for every PostgreSQL leg ------------
pg_url=""
pg_needed() { case " $LEGS " in *" boxoffice_pg "* | *" pg_forupdate "* | *" pg_condupdate "*) return 0 ;; esac; return 1; }
if pg_needed; then
    pg_url=$(scripts/pg-cluster start "$pgdir")
    psql -X -q "$pg_url" -c 'CREATE DATABASE peers'
    echo "postgresql: $(psql -X -At "$pg_url" -c 'SHOW server_version') at $pg_url;" \
        "fsync $(psql -X -At "$pg_url" -c 'SHOW fsync'), synchronous_commit $(psql -X -At "$pg_url" -c 'SHOW synchronous_commit')," \
        "wal_sync_method $(psql -X -At "$pg_url" -c 'SHOW wal_sync_method')"
fi

# --- boxoffice over HTTP --------------------------------------------------
# Starts `boxoffice serve` on DB; sets url and auth; returns 1 (and leaves
# the server's words in $tmp/server.log) when it exits instead of listening.
start_boxoffice() {
    "$BUILD/boxoffice" serve --listen 127.0.0.1:0 --db "$1" ${BOXOFFICE_BENCH_THREADS:+--threads $BOXOFFICE_BENCH_THREADS} \
        --admin-token-file "$tmp/token" --access-log off 2>"$tmp/server.log" &
    server=$!
    srv_pid=$server
    for _ in $(seq 300); do
        grep -q 'listening on' "$tmp/server.log" 2>/dev/null && break
        # gone, or exited and not yet reaped (kill -0 still finds a zombie)
        if ! kill -0 "$server" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$server/stat" 2>/dev/null)" = Z ]; then
            wait "$server" || true
            server="" srv_pid=""
            return 1
        fi
        sleep 0.1
    done
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/server.log" | head -1)
    [ -n "$url" ] || { echo "bench-compare: the server did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }
    auth="Authorization: Bearer $(cat "$tmp/token")"
}

stop_boxoffice() {
    kill -TERM "$server" && wait "$server" || true
    server="" srv_pid=""
    rm -f "$tmp/token"
}

new_event() {
    curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' \
        --data "{\"venue_id\":\"$venue\",\"name\":\"Bench\",\"starts_at\":\"$starts\",\"currency\":\"EUR\",\"prices\":{\"P1\":9000,\"P2\":7000,\"P3\":5000,\"P4\":3000}}" \
        "$url/api/v1/events" | grep -o '"id":"evt_[0-9a-f]*"' | head -1 | cut -d'"' -f4
}

holds_201() {
    curl -sf "$url/metrics" | awk '/^boxoffice_http_requests_total/ && /holds"/ && /status="201"/ {s += $2} END {print s + 0}'
}

# Seats held over the given events, read back from each one's availability
# (one byte per seat, 1 = held; docs/api.md "The compact availability
# encoding"), and any seat sold or blocked, which no hold makes.
held_seats() {
    python3 - "$url" "$@" <<'EOF'
import base64, json, sys, urllib.request
url, held, other = sys.argv[1], 0, 0
for e in sys.argv[2:]:
    with urllib.request.urlopen(f"{url}/api/v1/events/{e}/availability") as r:
        seats = base64.b64decode(json.load(r)["seats"])
    held += seats.count(1)
    other += seats.count(2) + seats.count(3)
print(held, other)
EOF
}

# Runs bench_peers MODE TARGET CLIENTS for DURATION s (more environment
# before it, as VAR=value words); leaves its output in $tmp/peers.txt, the
# machine's figures (machine_delta, then the client's cores) in
# $tmp/machine, and shows its lines.
run_peers() {
    local m0 m1 t0 t1
    m0=$(machine)
    t0=$(date +%s.%N)
    env "$@" "$DURATION" >"$tmp/peers.txt" || true
    t1=$(date +%s.%N)
    m1=$(machine)
    echo "$(machine_delta "$m0" "$m1" "$(echo "$t0 $t1" | awk '{print $2 - $1}')")" \
        "$(grep -o 'client CPU [0-9.]*' "$tmp/peers.txt" | cut -d' ' -f3 || echo -)" >"$tmp/machine"
    sed '/^result /d; /^check: by the caller/d; s/^/  /' "$tmp/peers.txt"
}
# A field of bench_peers' result line (nan when it has none).
peers_field() {
    local v
    v=$(grep '^result ' "$tmp/peers.txt" | grep -o " $1=[^ ]*" | cut -d= -f2)
    echo "${v:-nan}"
}

# One level: fresh events enough for `rate` holds/s (the best so far, with
# room), bench_peers' http mode for DURATION s, then the check: seats held
# over those events (their availability) = successful holds x 2 = the
# server's own count of 201s x 2.
boxoffice_level() {
    local leg=$1 clients=$2 rate=$3 nevents events="" event before after held other holds check
    nevents=$(echo "$rate $DURATION $PAIRS" | awk '{printf "%d", $1 * 1.5 * $2 / $3 + 2}')
    for _ in $(seq "$nevents"); do
        event=$(new_event)
        [ -n "$event" ] || { echo "bench-compare: could not create an event" >&2; exit 1; }
        events="$events $event"
    done
    before=$(holds_201)
    run_peers BOXOFFICE_COMPARE_EVENTS="$events" "$BUILD/bench/bench_peers" http "${url#http://}" "$clients"
    after=$(holds_201)
    holds=$(peers_field holds)
    read -r held other < <(held_seats $events)
    check=ok
    [ "$holds" != nan ] && [ "$held" -eq $((holds * 2)) ] && [ $((after - before)) -eq "$holds" ] && [ "$other" -eq 0 ] || check=FAIL
    echo "  check: $held seats held over $nevents events, $holds successful holds x 2 = $((holds * 2))," \
        "the server's 201s $((after - before)), $other seats sold or blocked: $check"
    record "$leg" "$clients" "$(peers_field holds_per_s)" "$(peers_field p99_ms)" "$check" $(cat "$tmp/machine")
}

boxoffice_leg() {
    local leg=$1 db=$2 rate=60000 clients last
    if ! start_boxoffice "$db"; then
        [ "$leg" = boxoffice_pg ] || { echo "bench-compare: the server did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }
        echo "  $leg: the server refused --db ${db%%://*}://…: $(grep -v '^admin token' "$tmp/server.log" | tail -1)"
        echo "  $leg: boxoffice's PostgreSQL store is not built: boxoffice_pg_holds_per_s=nan"
        for clients in $LEVELS; do record "$leg" "$clients" nan nan - - - - - -; done
        return
    fi
    "$BUILD/boxoffice" venue-gen --sections $SECTIONS --rows $ROWS --seats $SEATS --ga 0 --categories 4 >"$tmp/venue.json"
    venue=$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' \
        --data-binary @"$tmp/venue.json" "$url/api/v1/venues" | grep -o '"id":"ven_[0-9a-f]*"' | cut -d'"' -f4)
    starts=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
    for clients in $LEVELS; do
        boxoffice_level "$leg" "$clients" "$rate"
        last=$(tail -1 "$tmp/results" | cut -d' ' -f3)
        rate=$(echo "$rate $last" | awk '{print ($2 > $1 ? $2 : $1)}')
    done
    stop_boxoffice
}

# --- the peers, through bench_peers ---------------------------------------
peers_leg() {
    local leg=$1 mode=$2 target=$3 clients
    for clients in $LEVELS; do
        run_peers "$BUILD/bench/bench_peers" "$mode" "$target" "$clients"
        record "$leg" "$clients" "$(peers_field holds_per_s)" "$(peers_field p99_ms)" "$(peers_field check)" \
            $(cat "$tmp/machine")
    done
}

# Redis on a free loopback port in a temp dir of its own, by its PID.
redis_leg() {
    local leg=$1 port rdir
    shift
    port=$(free_port)
    rdir=$(mktemp -d "$tmp/redis-XXXXXX")
    redis-server --bind 127.0.0.1 --port "$port" --dir "$rdir" --protected-mode yes --daemonize no "$@" \
        >"$rdir/log" 2>&1 &
    redis=$!
    srv_pid=$redis
    for _ in $(seq 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    echo "  $leg: redis-server $(redis-cli -p "$port" info server | awk -F: '/^redis_version/ {print $2}' | tr -d '\r')," \
        "appendonly $(redis-cli -p "$port" config get appendonly | tail -1), appendfsync $(redis-cli -p "$port" config get appendfsync | tail -1)," \
        "save '$(redis-cli -p "$port" config get save | tail -1)'"
    peers_leg "$leg" redis "127.0.0.1:$port"
    kill -TERM "$redis" && wait "$redis" || true
    redis="" srv_pid=""
}

for leg in $LEGS; do
    echo "$leg:"
    case $leg in
    boxoffice_sqlite) boxoffice_leg "$leg" "sqlite:$tmp/bench.db" ;;
    boxoffice_pg) boxoffice_leg "$leg" "$pg_url" ;;
    pg_forupdate) peers_leg "$leg" pg-forupdate "${pg_url%/boxoffice}/peers" ;;
    pg_condupdate) peers_leg "$leg" pg-condupdate "${pg_url%/boxoffice}/peers" ;;
    redis_always) redis_leg "$leg" --save '' --appendonly yes --appendfsync always ;;
    redis_none) redis_leg "$leg" --save '' --appendonly no ;;
    *) echo "bench-compare: no leg $leg" >&2; exit 2 ;;
    esac
done

# --- the table, the plot, the last line ------------------------------------
echo "holds/s (p99 ms) per design and clients; load average now $(cut -d' ' -f1-3 /proc/loadavg):"
awk -v levels="$LEVELS" 'BEGIN {n = split(levels, L, " "); printf "  %-16s", "design"; for (i = 1; i <= n; i++) printf " %18s", L[i] " clients"; print ""}
    {v[$1, $2] = sprintf("%s (%s)", $3, $4); if (!($1 in seen)) {seen[$1] = 1; order[++m] = $1}}
    END {for (j = 1; j <= m; j++) {printf "  %-16s", order[j]; for (i = 1; i <= n; i++) printf " %18s", v[order[j], L[i]]; print ""}}' "$tmp/results"

failed=$(awk '$5 == "FAIL"' "$tmp/results")
mkdir -p "$(dirname "$PLOT")"
awk '$3 != "nan" {if ($1 != prev && NR > 1) print "\n"; prev = $1; print $1, $2, $3, $4}' "$tmp/results" >"$tmp/plot.dat"
if [ -s "$tmp/plot.dat" ]; then
    designs=$(awk 'NF == 4 && !s[$1]++ {print $1}' "$tmp/plot.dat" | tr '\n' ' ')
    gnuplot <<EOF
set terminal pngcairo size 1200,520 font ",10"
set output "$PLOT"
set multiplot layout 1,2 title "Hot-event 2-seat holds, $(date -u +%Y-%m-%d), $(nproc) cores, ${DURATION} s per point (make bench-compare)"
set termoption noenhanced
set key below horizontal
set grid
set xlabel "concurrent clients"
set logscale x 2
set xrange [$(echo "$LEVELS" | tr ' ' '\n' | sort -n | head -1) / 1.4 : $(echo "$LEVELS" | tr ' ' '\n' | sort -n | tail -1) * 1.4]
set xtics (${LEVELS// /, })
set ylabel "successful holds/s"
set yrange [0:*]
set format y "%.0s%c"
designs = "$designs"
plot for [i = 1:words(designs)] "$tmp/plot.dat" index (i - 1) using 2:3 with linespoints lw 2 title word(designs, i)
set ylabel "p99 latency (ms)"
set logscale y 10
set yrange [*:*]
set format y "%g"
plot for [i = 1:words(designs)] "$tmp/plot.dat" index (i - 1) using 2:4 with linespoints lw 2 title word(designs, i)
unset multiplot
EOF
    echo "plot: $PLOT"
fi
[ -z "$failed" ] || { echo "bench-compare: a leg's check failed:" >&2; echo "$failed" >&2; }

top=$(echo "$LEVELS" | tr ' ' '\n' | sort -n | tail -1)
last=""
for leg in boxoffice_sqlite boxoffice_pg pg_forupdate pg_condupdate redis_always redis_none; do
    v=$(awk -v l="$leg" -v c="$top" '$1 == l && $2 == c {print $3}' "$tmp/results")
    last="$last ${leg}_holds_per_s=${v:-nan}"
done
echo "${last# }"
[ -z "$failed" ]
