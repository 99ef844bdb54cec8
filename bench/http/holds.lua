-- holds.lua - wrk script for `make bench-http`: random 2-seat holds on one
-- hot event until it is full, then the same on a fresh one (a round per
-- event). Every request is a hold that should succeed, and every success
-- is a durable commit.
--
-- A round deals the event's 10,000 seat pairs (seats 2k-1 and 2k of every
-- row) in a random order, shared out between wrk's threads (pair i goes to
-- thread i mod WRK_THREADS), so the threads hold on the same event at the
-- same time without taking each other's pairs; the event is full when the
-- last pair is dealt. Each pair has its own buyer (per-customer limits do
-- not interfere) at its own client address, sent as X-Forwarded-For
-- (10.a.b.c from the pair's index; the server trusts loopback as a proxy),
-- so the holds take the rate-limited and capped path as real buyers behind
-- a proxy do, one hold per address per event. Seat ids are those of
-- `boxoffice venue-gen`: S<section>-<row label>-<n>.
--
-- Set by bench_http.sh: EVENTS (fresh event ids, one per round, space
-- separated), SECTIONS, ROWS, SEATS, WRK_THREADS.

local events = {}
for e in string.gmatch(os.getenv("EVENTS"), "%S+") do
  events[#events + 1] = e
end
local sections = tonumber(os.getenv("SECTIONS"))
local rows = tonumber(os.getenv("ROWS"))
local seats = tonumber(os.getenv("SEATS"))
local threads = {}

local function row_label(i)
  -- 1 -> A, 26 -> Z, 27 -> AA
  local s = ""
  while i > 0 do
    local r = (i - 1) % 26
    s = string.char(65 + r) .. s
    i = math.floor((i - 1 - r) / 26)
  end
  return s
end

function setup(thread)
  thread:set("tid", #threads)
  thread:set("nthreads", tonumber(os.getenv("WRK_THREADS")))
  threads[#threads + 1] = thread
end

local tails, head, pos, n, offset, step
-- globals, read by done() from each thread
rounds, exhausted = 0, 0

local function gcd(a, b)
  while b ~= 0 do
    a, b = b, a % b
  end
  return a
end

-- A round visits this thread's pairs in the order offset, offset + step, ...
-- (mod n, step coprime to n: every pair once), a fresh random order per
-- round without reshuffling or reformatting anything.
local function next_round()
  rounds = rounds + 1
  if rounds > #events then
    exhausted = 1 -- no fresh event left: holds from here on are refused
  end
  head = "POST /api/v1/events/" .. events[(rounds - 1) % #events + 1] .. "/holds HTTP/1.1\r\n"
  offset = math.random(n) - 1
  step = math.random(n - 1)
  while gcd(step, n) ~= 1 do
    step = step % (n - 1) + 1
  end
  pos = 0
end

function init(args)
  math.randomseed(os.time() + tonumber(string.sub(tostring({}), 8), 16))
  wrk.headers["Content-Type"] = "application/json"
  -- Each request is the round's request line plus a tail formatted once
  -- here (headers and body): per request wrk pays one concatenation, so it
  -- spends about what it would on a static request.
  tails = {}
  local line = #"POST / HTTP/1.1\r\n"
  local k = 0
  for sec = 1, sections do
    for row = 1, rows do
      local label = row_label(row)
      for s = 1, seats - 1, 2 do
        if k % nthreads == tid then
          local body = string.format(
            '{"seats":["S%d-%s-%d","S%d-%s-%d"],"customer":{"email":"b%d-%d@example.com"}}',
            sec, label, s, sec, label, s + 1, tid, #tails + 1)
          local headers = {
            ["Content-Type"] = "application/json",
            ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor((k + 1) / 65536) % 256,
              math.floor((k + 1) / 256) % 256, (k + 1) % 256),
          }
          tails[#tails + 1] = string.sub(wrk.format("POST", "/", headers, body), line + 1)
        end
        k = k + 1
      end
    end
  end
  n = #tails
  next_round()
end

function request()
  if pos == n then
    next_round()
  end
  local i = (offset + pos * step) % n + 1
  pos = pos + 1
  return head .. tails[i]
end

-- Holds made are counted by bench_http.sh from the server's /metrics (each
-- wrk thread has its own Lua state; done() sees only the totals and what
-- the threads' globals say).
function done(summary, latency, requests)
  local full, out = 0, 0
  for _, t in ipairs(threads) do
    full = full + t:get("rounds") - 1
    out = out + t:get("exhausted")
  end
  io.write(string.format("wrk: %d requests, %d non-2xx/3xx, %d errors, %.1f events filled%s\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    full / #threads, out > 0 and " (ran out of fresh events: the rest were refused)" or ""))
  io.write(string.format("latency_p50_us=%d latency_p99_us=%d\n",
    latency:percentile(50), latency:percentile(99)))
end
