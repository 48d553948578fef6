"""The parts of wrk/bench.py: settings (common), machine preparation
(prepare), the servers under test (servers), the load generators (tools),
the workloads (workloads) and the output (report). Standard library only."""
