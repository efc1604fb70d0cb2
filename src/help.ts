// --help texts, one per command.
/** --inspector-attach, shared by the agent's and the profile's options. */
const INSPECTOR_ATTACH = `  --inspector-attach MODE
                      same-user (default) or any. Attaching to a running Node opens its inspector
                      on 127.0.0.1:9229 for ~0.1-0.3 s, where every local user of its network
                      namespace can run code as its user. same-user: only for processes of the
                      agent's own uid, or in a network namespace of their own (a container, not
                      the host's); others are watched from /proc with one line saying so.
                      any: every Node process (docs/SECURITY.md). Preloading opens no inspector
`;

const COMMON = `  --host H            address to serve on (default 127.0.0.1)
  --port N            port for /metrics, /healthz, /api/targets (default 9464; 0 picks one)
  --interval D        collection interval (default 1s)
  --sample-hz N       thread-state samples per second of each main thread (default 50)
  --otlp URL          also push OTLP/HTTP metrics to a collector (e.g. http://127.0.0.1:4318)
  --socket PATH       probe channel socket (default $XDG_RUNTIME_DIR/rtprof/agent-PID.sock)
  --no-attach         never inject probes: /proc only
  --http              probes also hook HTTP servers: requests in flight and completed, busy time.
                      Off by default: ~3 % more CPU per request on a hello-world
                      (docs/BENCHMARKS.md). 'profile' always hooks them (its verdict needs them);
                      --no-http, the default, is still accepted
  --no-gc-pauses      probes do not watch GC pauses: no pause histogram (Node: no GC series at
                      all; Python keeps its collection counts, read from gc.get_stats()). On Node,
                      seeing each pause is most of the probe's cost on a loaded hello-world
                      (docs/BENCHMARKS.md)
  --with-command-line add process.command_line to OTLP resources (command lines may hold secrets)
${INSPECTOR_ATTACH}  --api-host NAME     /api/* also answers requests whose Host is NAME (repeatable; *.suffix
                      allowed), e.g. a Kubernetes Service: rtprof.monitoring.svc.cluster.local.
                      Otherwise only IP addresses, localhost and this host's name (DNS rebinding)
`;

export const HELP = {
  main: `rtprof — is your Node.js or Python service waiting on I/O or burning CPU?

Usage:
  rtprof agent [--pid N]... [--discover] [--match REGEX] [--port 9464] [--otlp URL]
  rtprof run [agent flags] -- node app.js | python3 app.py
  rtprof profile (--pid N | -- CMD ARGS...) [--duration 30s] [--json] [--html FILE]
                 [--load URL [--rate N] [--connections N]]
  rtprof ps [--json]
  rtprof demo

Durations: 500ms, 10s, 2m. Exit codes: 0 ok, 1 runtime failure, 2 usage error.
'rtprof COMMAND --help' tells more.
`,
  agent: `rtprof agent — watch processes and serve their metrics

Usage: rtprof agent [--pid N]... [--discover] [--match REGEX] [flags]

  --pid N             watch this process (repeatable); Node/Python get a probe injected
  --discover          watch every Node/Python process visible, pick up new ones, drop dead ones
  --match REGEX       with --discover: only processes whose command line or service name matches
${COMMON}
Endpoints: GET /metrics (Prometheus), GET /healthz, GET /api/targets (JSON).
Environment: OTEL_RESOURCE_ATTRIBUTES=k8s.node.name=n1,... goes on every target's OTLP resource
and every Prometheus series (k8s_node_name), beneath the target's own attributes.
`,
  run: `rtprof run — launch a service with the probe preloaded and watch it

Usage: rtprof run [agent flags] -- node app.js
       rtprof run [agent flags] -- python3 app.py

Node gets NODE_OPTIONS="--require <probe>", Python a sitecustomize on PYTHONPATH. The agent
serves /metrics while the service runs and exits with the service's exit code.
${COMMON}`,
  profile: `rtprof profile — one-shot report: where the time goes, I/O-bound or CPU-bound

Usage: rtprof profile --pid N [--duration 30s] [--json] [--html FILE]
       rtprof profile [--duration 30s] -- node server.js
       rtprof profile --pid N --load http://127.0.0.1:3000/api [--rate 1000] [--connections 50]

  --pid N             profile a running process (Node/Python get a probe; anything else: /proc)
  --duration D        window length (default 30s)
  --json              print the report as one JSON document
  --html FILE         also write a self-contained HTML report with charts
  --load URL          drive HTTP load at URL during the window
  --rate N            requests per second for --load, sent on schedule whatever the answers do
                      (open loop: latency counts from when each request was due, so waiting for
                      a busy connection counts too); default: as fast as the connections go
  --connections N     concurrent connections for --load (default 10); at --rate, the cap
  --interval D        sample interval (default 1s)
  --no-attach         do not inject a probe
${INSPECTOR_ATTACH}`,
  ps: `rtprof ps — Node and Python processes here: pid, runtime, version, user, attachable, command

Usage: rtprof ps [--json]
`,
  demo: `rtprof demo — the sample Node and Python services, a downstream, the agent attached to them,
a short load and a profile of each side by side; /metrics stays up until Ctrl-C.

Usage: rtprof demo [--port 9464] [--duration 10s] [--endpoint '/mixed?cpu_ms=5&io_ms=40'] [--rate 100]
                   [--connections 10] [--no-wait]
`,
};
