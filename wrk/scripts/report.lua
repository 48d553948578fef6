-- report.lua: print a machine-readable summary when a wrk run ends.
--
-- Usage:  wrk -t1 -c50 -d5s --latency -s report.lua http://127.0.0.1:PORT/tiny.html
--
-- wrk calls done() once, after all threads have stopped, with aggregated
-- statistics. It runs in its own Lua state, so nothing set by per-thread code
-- is visible here; everything comes from the three arguments.
--
-- Output: one line starting with "wrk-report" followed by space-separated
-- key=value pairs, so shell scripts can pick fields with sed/awk:
--   requests        completed responses
--   duration_us     measured run time
--   bytes           bytes read from the sockets
--   rps             requests / second
--   p50_us p90_us p99_us p999_us   latency percentiles in microseconds,
--                   or "na" when wrk cannot give one (see below)
--   max_us mean_us stdev_us        other latency figures in microseconds
--   connect_errors read_errors write_errors status_errors timeout_errors
--                   wrk's error counters (status = responses with status > 399)
--   errors          the sum of the five counters above
--
-- wrk 4 adds synthetic samples to its latency histogram at the end of a run
-- (a correction for coordinated omission) and can count samples that its
-- percentile lookup then never reaches; the lookup returns 0 for those
-- percentiles. That is most visible with pipelining (pipeline.lua). A
-- latency of 0 us cannot be real, so it is printed as "na".
--
-- Other scripts in this directory load this file with dofile() so that every
-- run prints the same line.

-- url_paths(args, first): args[first..] as URL paths (a leading "/" added
-- where missing), or wrk's own path when none are given. Shared by
-- paths.lua and pipeline.lua.
function url_paths(args, first)
   local out = {}
   for i = first, #args do
      local p = args[i]
      if p:sub(1, 1) ~= "/" then
         p = "/" .. p
      end
      out[#out + 1] = p
   end
   if #out == 0 then
      out[1] = wrk.path
   end
   return out
end

local function percentile(latency, p)
   local v = latency:percentile(p)
   if v == 0 then
      return "na"
   end
   return string.format("%d", v)
end

function done(summary, latency, requests)
   local e = summary.errors
   local total_errors = e.connect + e.read + e.write + e.status + e.timeout
   local secs = summary.duration / 1e6
   local rps = 0
   if secs > 0 then
      rps = summary.requests / secs
   end
   local fields = {
      string.format("requests=%d", summary.requests),
      string.format("duration_us=%d", summary.duration),
      string.format("bytes=%d", summary.bytes),
      string.format("rps=%.2f", rps),
      "p50_us=" .. percentile(latency, 50),
      "p90_us=" .. percentile(latency, 90),
      "p99_us=" .. percentile(latency, 99),
      "p999_us=" .. percentile(latency, 99.9),
      string.format("max_us=%d", latency.max),
      string.format("mean_us=%.1f", latency.mean),
      string.format("stdev_us=%.1f", latency.stdev),
      string.format("connect_errors=%d", e.connect),
      string.format("read_errors=%d", e.read),
      string.format("write_errors=%d", e.write),
      string.format("status_errors=%d", e.status),
      string.format("timeout_errors=%d", e.timeout),
      string.format("errors=%d", total_errors),
   }
   io.write("wrk-report ", table.concat(fields, " "), "\n")
end
