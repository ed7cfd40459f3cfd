-- bench/wrk/patch.lua - PATCH /api/leads/{id} with a JSON body, cycling
-- through BENCH_IDS and alternating the status, so every request changes
-- the row (an UPDATE, its audit_log row and the returned lead) and no two
-- connections queue on one row's lock.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids, i, pass
local bodies = {
   '{"status":"contacted"}',
   '{"status":"qualified"}',
}

function init(args)
   ids = bench_load_ids()
   i = (bench_thread or 0) * math.floor(#ids / 2)
   pass = 0
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   i = i + 1
   if i > #ids then
      i = 1
      pass = pass + 1
   end
   return wrk.format("PATCH", "/api/leads/" .. ids[i], nil,
                     bodies[(i + pass) % 2 + 1])
end
