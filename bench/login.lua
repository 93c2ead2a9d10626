-- A login burst: POST /login with the demo's form and no cookies, so every
-- request makes a new session.
-- LOGIN_PATH and LOGIN_BODY override the route and form (the floor has no
-- /login: run.sh sends it to its form-reading POST /flash instead).
dofile(os.getenv("BENCH_DIR") .. "/report.lua")

wrk.method = "POST"
wrk.path = os.getenv("LOGIN_PATH") or "/login"
wrk.body = os.getenv("LOGIN_BODY") or "name=Ada+Lovelace"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

function done(summary, latency, requests)
  report(summary, latency, -1, -1)
end
