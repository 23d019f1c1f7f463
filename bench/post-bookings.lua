-- bench/post-bookings.lua — wrk script for durable POST /bookings.
--
-- Every request carries a distinct (hostId, roomId, dates) combination, so no
-- booking overlaps another one and none should be answered 409:
--   hostId  = "h" .. (counter % HOSTS)           (default 1,000 hosts: h0 .. h999),
--             or, with ORDER "random", a pseudo-random host per request
--             (Knuth's multiplicative hash of the counter), as real
--             traffic would spread over hosts
--   roomId  = "r" .. RUN .. "-" .. THREAD .. "-" .. counter
--   guestId = "g" .. (counter % 5000)
--   dates   = 2026-12-01 .. 2026-12-02 (fixed, valid), guests = 1
-- HOSTS and ORDER ("sequential" or "random") are the optional second and
-- third arguments after `--`.
-- RUN is the first argument after `--` on the wrk command line (rest-bench
-- passes a fresh value for every run, so repeated runs against the same data
-- directory never collide); THREAD is the wrk thread's index.
--
-- The token comes from the command line: wrk -H "Authorization: Bearer <service jwt>".
-- At the end it prints one line with the status codes seen, e.g.
--   statuses: 201=123456 409=0 4xx=0 5xx=0 other=0
--
-- Usage: wrk -t1 -c64 -d10 --latency -s bench/post-bookings.lua \
--            -H "Authorization: Bearer $TOKEN" http://127.0.0.1:PORT/bookings -- RUNID

local threads = {}
local nthreads = 0

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

local run = "0"
local hosts, random_order = 1000, false
local counter = 0
n201, n409, n4xx, n5xx, nother = 0, 0, 0, 0, 0

function init(args)
  run = args[1] or tostring(os.time())
  hosts = tonumber(args[2] or "1000")
  random_order = args[3] == "random"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function host_of(c)
  if random_order then
    return ((c * 2654435761) % 4294967296) % hosts
  end
  return c % hosts
end

function request()
  local c = counter
  counter = counter + 1
  local body = string.format(
    '{"hostId":"h%d","roomId":"r%s-%d-%d","guestId":"g%d",' ..
    '"checkIn":"2026-12-01","checkOut":"2026-12-02","guests":1}',
    host_of(c), run, tid or 0, c, c % 5000)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 201 then n201 = n201 + 1
  elseif status == 409 then n409 = n409 + 1
  elseif status >= 400 and status < 500 then n4xx = n4xx + 1
  elseif status >= 500 then n5xx = n5xx + 1
  else nother = nother + 1 end
end

function done(summary, latency, requests)
  local t = {n201 = 0, n409 = 0, n4xx = 0, n5xx = 0, nother = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (tonumber(thread:get(k)) or 0) end
  end
  io.write(string.format("statuses: 201=%d 409=%d 4xx=%d 5xx=%d other=%d\n",
    t.n201, t.n409, t.n4xx, t.n5xx, t.nother))
end
