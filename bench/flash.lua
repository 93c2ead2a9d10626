-- A flash round trip per connection: POST /flash, then GET / carrying the
-- cookies the POST set, and so on. wrk's request()/response() hooks run per
-- thread, not per connection, so run this with as many threads as
-- connections (-tN -cN): each thread is then one browser with its own jar.
--
-- FLASH_COOKIES: one logged-in Cookie header per thread, separated by "|".
-- FLASH_MESSAGE: the message flashed; GET / must show it (counted).
dofile(os.getenv("BENCH_DIR") .. "/report.lua")

local message = os.getenv("FLASH_MESSAGE") or "Saved from wrk"
local form = "level=success&message=" .. message:gsub(" ", "+")

-- Main state: hand each thread its own session.
local threads = {}
local sessions = {}
for header in string.gmatch(os.getenv("FLASH_COOKIES") or "", "[^|]+") do
  table.insert(sessions, header)
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("initial", sessions[((#threads - 1) % math.max(#sessions, 1)) + 1] or "")
end

-- Thread state: the jar (values, and names in first-seen order) and where
-- in the round trip this connection is.
local jar, order, seen = {}, {}, {}
local posting = true
shown, missing = 0, 0

local function remember(line)
  local pair = line:match("^%s*([^;]*)")
  local name, value = pair:match("^([^=]+)=(.*)$")
  if not name then return end
  if value == "" then
    jar[name] = nil
  else
    jar[name] = value
    if not seen[name] then
      seen[name] = true
      table.insert(order, name)
    end
  end
end

local function cookie_header()
  local parts = {}
  for _, name in ipairs(order) do
    if jar[name] then table.insert(parts, name .. "=" .. jar[name]) end
  end
  return table.concat(parts, "; ")
end

function init(args)
  for pair in string.gmatch(initial or "", "[^;]+") do remember(pair) end
end

function request()
  if posting then
    return wrk.format("POST", "/flash", {
      ["Cookie"] = cookie_header(),
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, form)
  end
  return wrk.format("GET", "/", { ["Cookie"] = cookie_header() })
end

function response(status, headers, body)
  -- wrk keeps one value per header name: the last Set-Cookie. The demo sets
  -- at most one per response in this loop (f_success, or its removal).
  for name, value in pairs(headers) do
    if name:lower() == "set-cookie" then remember(value) end
  end
  if not posting then
    if body:find(message, 1, true) then shown = shown + 1 else missing = missing + 1 end
  end
  posting = not posting
end

function done(summary, latency, requests)
  local s, m = 0, 0
  for _, thread in ipairs(threads) do
    s = s + thread:get("shown")
    m = m + thread:get("missing")
  end
  report(summary, latency, s, m)
end
