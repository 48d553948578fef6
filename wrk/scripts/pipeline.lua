-- pipeline.lua: HTTP/1.1 pipelining load.
--
-- Usage:
--   wrk -t1 -c8 -d5s --latency -s pipeline.lua http://127.0.0.1:PORT/tiny.html -- 16
--   wrk -t1 -c8 -d5s --latency -s pipeline.lua http://127.0.0.1:PORT -- 32 /tiny.html /medium.css
--
-- The first argument after "--" is the depth N (default 16): each write puts
-- N complete GET requests on the connection back to back, and wrk waits for
-- all N responses before writing the next batch. Any further arguments are
-- paths used in turn inside a batch; without them the URL's path is repeated.
--
-- wrk counts every response as a request, but records one latency sample per
-- batch (the time until the last of the N responses), so latencies here are
-- per batch, not per request. wrk's end-of-run latency correction assumes one
-- response per sample, so with pipelining its percentiles are skewed and some
-- may print as 0 (report.lua says "na"): read the throughput, not the latency.
--
-- The summary line from report.lua is printed at the end as well.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local batch

function init(args)
   local depth = 16
   local first_path = 1
   if args[1] ~= nil and tonumber(args[1]) ~= nil then
      depth = math.floor(tonumber(args[1]))
      first_path = 2
   end
   if depth < 1 then
      error("pipeline.lua: depth must be at least 1, got " .. tostring(args[1]))
   end

   local paths = url_paths(args, first_path)

   local parts = {}
   for i = 1, depth do
      parts[i] = wrk.format(nil, paths[(i - 1) % #paths + 1])
   end
   batch = table.concat(parts)
end

function request()
   return batch
end
