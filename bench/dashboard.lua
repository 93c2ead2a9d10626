-- GET /dashboard with the session cookie given by `-H "Cookie: ..."`;
-- only the report at the end (no per-response Lua, to keep the client light).
dofile(os.getenv("BENCH_DIR") .. "/report.lua")

wrk.method = "GET"
wrk.path = "/dashboard"

function done(summary, latency, requests)
  report(summary, latency, -1, -1)
end
