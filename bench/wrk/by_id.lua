-- bench/wrk/by_id.lua - GET /api/leads/{id}, cycling through BENCH_IDS
-- (each thread starts at its own offset).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids, i

function init(args)
   ids = bench_load_ids()
   i = (bench_thread or 0) * math.floor(#ids / 2)
end

function request()
   i = i % #ids + 1
   return wrk.format("GET", "/api/leads/" .. ids[i])
end
