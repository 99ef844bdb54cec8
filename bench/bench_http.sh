#!/usr/bin/env bash
# bench_http.sh - `make bench-http`: the HTTP hold path against this
# server's own ceiling, in one run on loopback, in paired rounds:
#   1. ceiling: GET /healthz, 256 connections, wrk, DURATION seconds;
#   2. holds: random 2-seat holds on one hot 20,000-seat event until it is
#      full, then on a fresh one, and so on (bench/http/holds.lua: a round
#      per event, every request a hold that should succeed), 256
#      connections, DURATION seconds; every 201 is durable (group commit)
#      before it is sent. The events are created before the phase, enough
#      for holds at the ceiling's rate.
# ROUNDS such pairs, one after the other: the host's speed drifts by tens of
# percent within a minute (other tenants), so each round's ratio compares
# two phases a few seconds apart, and the summary takes medians.
# Holds/s come from the server's own request counter (201s on the holds
# route); latency percentiles from wrk over every request of the phase
# (every one a hold).
# Each round also prints the store's commits/s and the disk's writes and
# cache flushes per second during its holds phase: each group commit is one
# fsync'd WAL write, whose cost on a virtual disk is what limits holds there
# (docs/architecture.md, "The hold path's cost").
# Last line: http_holds_per_s=… http_hold_p99_ms=… http_ceiling_rps=…
# hold_to_ceiling_ratio=…: the medians over the rounds of holds/s, the
# ceiling and the ratio, and the worst round's hold p99.
# Knobs: BOXOFFICE_BENCH_ROUNDS (3), BOXOFFICE_BENCH_SECONDS (per phase, 6),
# BOXOFFICE_BENCH_CONNECTIONS (256), BOXOFFICE_BENCH_THREADS (the server's
# --threads; default one per core), BOXOFFICE_BENCH_WRK_THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BOXOFFICE_BENCH_ROUNDS:-3}
DURATION=${BOXOFFICE_BENCH_SECONDS:-6}
CONNS=${BOXOFFICE_BENCH_CONNECTIONS:-256}
WRK_THREADS=${BOXOFFICE_BENCH_WRK_THREADS:-2}
SECTIONS=20 ROWS=20 SEATS=50

tmp=$(mktemp -d /tmp/boxoffice-bench-http-XXXXXX)
server=""
cleanup() {
    [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

build/boxoffice serve --listen 127.0.0.1:0 --db "sqlite:$tmp/bench.db" ${BOXOFFICE_BENCH_THREADS:+--threads $BOXOFFICE_BENCH_THREADS} \
    --admin-token-file "$tmp/token" --access-log off 2>"$tmp/server.log" &
server=$!
for _ in $(seq 100); do
    grep -q 'listening on' "$tmp/server.log" 2>/dev/null && break
    sleep 0.1
done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/server.log" | head -1)
[ -n "$url" ] || { echo "bench-http: the server did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }
token=$(cat "$tmp/token")
auth="Authorization: Bearer $token"

build/boxoffice venue-gen --sections $SECTIONS --rows $ROWS --seats $SEATS --ga 0 \
    --categories 4 > "$tmp/venue.json"
venue=$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' \
    --data-binary @"$tmp/venue.json" "$url/api/v1/venues" | grep -o '"id":"ven_[0-9a-f]*"' | cut -d'"' -f4)
starts=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
new_event() {
    curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' \
        --data "{\"venue_id\":\"$venue\",\"name\":\"Bench\",\"starts_at\":\"$starts\",\"currency\":\"EUR\",\"prices\":{\"P1\":9000,\"P2\":7000,\"P3\":5000,\"P4\":3000}}" \
        "$url/api/v1/events" | grep -o '"id":"evt_[0-9a-f]*"' | head -1 | cut -d'"' -f4
}

echo "bench-http: $url, $CONNS connections, $ROUNDS rounds of ${DURATION} s + ${DURATION} s, events of 20,000 seats"

# One scrape: "<holds answered 201> <store commits>".
count_holds_commits() {
    curl -sf "$url/metrics" | awk '/^boxoffice_http_requests_total/ && /holds"/ && /status="201"/ {s += $2}
        /^boxoffice_store_commits_total/ {c = $2} END {print s + 0, c + 0}'
}
# The database's disk, for what each commit costs it: writes and cache
# flushes completed (/proc/diskstats columns 8 and 19; 0 where not counted).
disk=$(basename "$(df --output=source "$tmp" | tail -1)")
disk_io() {
    awk -v d="$disk" '$3 == d {print $8, (NF >= 19 ? $19 : 0)}' /proc/diskstats
}
pairs=$((SECTIONS * ROWS * SEATS / 2))

: > "$tmp/rounds"
for round in $(seq "$ROUNDS"); do
    ceiling=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" "$url/healthz" | awk '/Requests\/sec/ {print $2}')
    # One fresh event per 10,000 holds, for holds as fast as the ceiling.
    nevents=$(echo "$ceiling $DURATION $pairs" | awk '{printf "%d", $1 * $2 / $3 + 2}')
    events=""
    for _ in $(seq "$nevents"); do
        event=$(new_event)
        [ -n "$event" ] || { echo "bench-http: could not create an event" >&2; exit 1; }
        events="$events $event"
    done
    read -r before commits0 < <(count_holds_commits)
    io0=$(disk_io)
    t0=$(date +%s.%N)
    EVENTS="$events" SECTIONS=$SECTIONS ROWS=$ROWS SEATS=$SEATS WRK_THREADS=$WRK_THREADS \
        wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" -s bench/http/holds.lua "$url" > "$tmp/wrk.txt"
    t1=$(date +%s.%N)
    read -r after commits1 < <(count_holds_commits)
    io1=$(disk_io)
    p99_us=$(awk -F'latency_p99_us=' '/latency_p99_us/ {print $2}' "$tmp/wrk.txt")
    # holds/s p99_ms ceiling ratio commits/s writes/s flushes/s, then what wrk says
    echo "$after $before $t0 $t1 $p99_us $ceiling $commits0 $commits1 $io0 $io1" | awk '{
        s = $4 - $3; h = ($1 - $2) / s
        printf "%.0f %.2f %.0f %.3f %.0f %.0f %.0f\n", h, $5 / 1000, $6, h / $6,
            ($8 - $7) / s, (NF == 12 ? ($11 - $9) / s : 0), (NF == 12 ? ($12 - $10) / s : 0)}' >> "$tmp/rounds"
    tail -1 "$tmp/rounds" | awk -v r="$round" -v n="$((after - before))" '{
        printf "round %d: ceiling %d requests/s; holds %d made, %d/s, p99 %.2f ms; ratio %.2f; store %d commits/s; disk %d writes/s, %d cache flushes/s\n",
            r, $3, n, $1, $2, $4, $5, $6, $7}'
    grep '^wrk:' "$tmp/wrk.txt" | sed 's/^/         /'
done

# Medians over the rounds (the middle one; the lower middle for an even
# count), the worst p99.
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
holds_per_s=$(cut -d' ' -f1 "$tmp/rounds" | median)
p99_ms=$(cut -d' ' -f2 "$tmp/rounds" | sort -n | tail -1)
ceiling=$(cut -d' ' -f3 "$tmp/rounds" | median)
ratio=$(cut -d' ' -f4 "$tmp/rounds" | median | awk '{printf "%.2f", $1}')
echo "http_holds_per_s=$holds_per_s http_hold_p99_ms=$p99_ms http_ceiling_rps=$ceiling hold_to_ceiling_ratio=$ratio"
