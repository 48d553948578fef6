-- paths.lua: rotate through several request paths in one wrk run.
--
-- Usage:
--   wrk -t1 -c16 -d5s --latency -s paths.lua http://127.0.0.1:PORT -- /tiny.html /medium.css /large.html
--
-- Each connection's requests go round-robin through the paths given after
-- "--". Every wrk thread starts at a different position in the list so that,
-- with several threads, the mix is spread from the first request on. With no
-- arguments the path of the URL on the command line is used.
--
-- The summary line from report.lua is printed at the end as well.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local paths = {}
local requests = {}
local next_index = 1
local threads_created = 0

-- setup() runs in the main Lua state once per thread, before that thread's
-- init(); it hands each thread its own number (a global in the thread's Lua
-- state) so the rotations are staggered.
function setup(thread)
   thread:set("paths_thread_number", threads_created)
   threads_created = threads_created + 1
end

function init(args)
   paths = url_paths(args, 1)
   -- Format every request once; request() then only picks one.
   for i, p in ipairs(paths) do
      requests[i] = wrk.format(nil, p)
   end
   next_index = ((paths_thread_number or 0) % #requests) + 1
end

function request()
   local r = requests[next_index]
   next_index = next_index % #requests + 1
   return r
end
