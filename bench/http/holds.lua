-- holds.lua - wrk script for `make bench-http`: random 2-seat holds on one
-- hot event, each released again by a later request, so the event never
-- sells out and every successful request is a durable commit (the hold, or
-- its release). Seat ids are those of `boxoffice venue-gen`: S<section>-<row
-- label>-<n>. Set by bench_http.sh: EVENT, SECTIONS, ROWS, SEATS.

local event = os.getenv("EVENT")
local sections = tonumber(os.getenv("SECTIONS"))
local rows = tonumber(os.getenv("ROWS"))
local seats = tonumber(os.getenv("SEATS"))
local to_release = {}

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
  thread:set("id", tostring(thread))
end

function init(args)
  math.randomseed(os.time() + tonumber(string.sub(tostring({}), 8), 16))
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local hold = table.remove(to_release)
  if hold then
    return wrk.format("DELETE", "/api/v1/holds/" .. hold, nil, nil)
  end
  local sec = math.random(sections)
  local row = row_label(math.random(rows))
  local n = math.random(seats - 1)
  local body = string.format(
    '{"seats":["S%d-%s-%d","S%d-%s-%d"],"customer":{"email":"b%d@example.com"}}',
    sec, row, n, sec, row, n + 1, math.random(1000000))
  return wrk.format("POST", "/api/v1/events/" .. event .. "/holds", nil, body)
end

function response(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"id":"(hold_[0-9a-f]+)"')
    if id then
      table.insert(to_release, id)
    end
  end
end

-- Holds made are counted by bench_http.sh from the server's /metrics (each
-- wrk thread has its own Lua state; done() sees only the totals).
function done(summary, latency, requests)
  io.write(string.format("wrk: %d requests, %d non-2xx/3xx, %d errors\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("latency_p50_us=%d latency_p99_us=%d\n",
    latency:percentile(50), latency:percentile(99)))
end
