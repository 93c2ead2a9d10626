-- Shared by bench/*.lua: one machine-readable line per wrk run, read by bench/run.sh.
function report(summary, latency, shown, missing)
  local errors = summary.errors
  io.write(string.format(
    "RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d status_errors=%d socket_errors=%d shown=%d missing=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), summary.requests,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout,
    shown, missing))
end
