-- bench/wrk/get.lua - GET of one fixed path (the URL given to wrk), with
-- the token.  Used for the list scenarios: page one, a status filter and
-- the page after 15,000 rows (its cursor is part of the URL).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
