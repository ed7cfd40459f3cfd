-- bench/wrk/common.lua - shared by the wrk scripts of `make bench`.
--
-- Loaded with dofile() from each scenario script (wrk gives every thread
-- its own Lua state, so this runs once per thread and once in the main
-- state).  Environment, set by scripts/bench.sh:
--   BENCH_TOKEN   the dev session token (Authorization: Bearer ...)
--   BENCH_IDS     file of lead ids, one per line (by_id.lua, patch.lua)
--
-- done() prints one machine-readable line that scripts/bench.sh parses:
--   BENCH requests=N duration_us=N bytes=N status_errors=N connect=N
--         read=N write=N timeout=N p50_us=N p90_us=N p99_us=N max_us=N
--         mean_us=N
-- (status_errors is wrk's count of responses that are not 2xx or 3xx.)

local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
   error("BENCH_TOKEN is not set")
end
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"

-- setup() runs in the main state once per thread: number the threads so
-- each starts at a different place in the id list.
local thread_count = 0
function setup(thread)
   thread:set("bench_thread", thread_count)
   thread_count = thread_count + 1
end

function bench_load_ids()
   local path = os.getenv("BENCH_IDS")
   if path == nil or path == "" then
      error("BENCH_IDS is not set")
   end
   local ids = {}
   for line in io.lines(path) do
      if #line == 36 then
         ids[#ids + 1] = line
      end
   end
   if #ids == 0 then
      error("no lead ids in " .. path)
   end
   return ids
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d bytes=%d status_errors=%d " ..
      "connect=%d read=%d write=%d timeout=%d p50_us=%d p90_us=%d " ..
      "p99_us=%d max_us=%d mean_us=%d\n",
      summary.requests, summary.duration, summary.bytes, e.status,
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean))
end
