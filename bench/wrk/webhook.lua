-- bench/wrk/webhook.lua - POST /webhooks/form/{dealership_id} (the URL
-- given to wrk) with a JSON lead form, every request a DISTINCT person:
-- the e-mail, the phone and the Idempotency-Key are built from the run
-- number, the wrk thread and a per-thread counter, so each request should
-- create a lead + inbound message + reply job (201) rather than join an
-- existing lead (200, "duplicate": true).
--
-- Environment (scripts/bench.sh), besides common.lua's:
--   BENCH_WH_RUN       0 for the warm-up, 1 for the measured run: each
--                      (run, thread) pair gets its own block of 1,000,000
--                      phone numbers, so the measured run never repeats a
--                      warm-up person
--   BENCH_WH_THREADS   wrk -t (to lay out the blocks)
--   BENCH_WH_TAG       a per-`make bench` tag in the e-mail and the key
--
-- Phones are +474xxxxxxx (the generated data uses +479xxxxxxx, so no
-- collision with the bench leads); e-mails end in @webhook.bench.example,
-- which scripts/bench.sh deletes again after the run.
--
-- done() prints common.lua's BENCH line and then
--   BENCHWH created=N duplicate=N other=N
-- (201, 200 and any other status, summed over the threads).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local threads = {}
local common_setup = setup
function setup(thread)
   common_setup(thread)
   threads[#threads + 1] = thread
end

local n, base, tag, run, thread_no
created, duplicate, other = 0, 0, 0

function init(args)
   -- A website's form post carries no token.
   wrk.headers["Authorization"] = nil
   wrk.headers["Content-Type"] = "application/json"
   run = tonumber(os.getenv("BENCH_WH_RUN") or "0") or 0
   tag = os.getenv("BENCH_WH_TAG") or "0"
   local nthreads = tonumber(os.getenv("BENCH_WH_THREADS") or "2") or 2
   thread_no = bench_thread or 0
   base = ((run * nthreads + thread_no) % 9) * 1000000
   n = 0
end

function request()
   n = n + 1
   local person = string.format("%d-%d-%d", run, thread_no, n)
   local phone = string.format("+474%07d", (base + n) % 10000000)
   local body = string.format(
      '{"name":"Bench Kunde %s","email":"wh-%s-%s@webhook.bench.example",' ..
      '"phone":"%s","message":"Er Model Y ledig for prøvekjøring på ' ..
      'lørdag? Jeg har en Golf 2016 til innbytte.",' ..
      '"vehicle_interest":"Tesla Model Y","utm_source":"finn",' ..
      '"utm_medium":"cpc","consent_email":true}',
      person, tag, person, phone)
   wrk.headers["Idempotency-Key"] = "bench-wh-" .. tag .. "-" .. person
   return wrk.format("POST", nil, nil, body)
end

function response(status, headers, body)
   if status == 201 then
      created = created + 1
   elseif status == 200 then
      duplicate = duplicate + 1
   else
      other = other + 1
   end
end

local common_done = done
function done(summary, latency, requests)
   common_done(summary, latency, requests)
   local c, d, o = 0, 0, 0
   for _, t in ipairs(threads) do
      c = c + (t:get("created") or 0)
      d = d + (t:get("duplicate") or 0)
      o = o + (t:get("other") or 0)
   end
   io.write(string.format("BENCHWH created=%d duplicate=%d other=%d\n",
                          c, d, o))
end
