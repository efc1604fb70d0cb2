// The fault-matrix cases of docs/RELIABILITY.md: what each case is, what the code did before its
// fix (measured once, on that code), and which test measures it now. The "after" column comes
// from the tests themselves (test/helpers/reliability.ts) on every regeneration.

export interface ReliabilityCase {
  /** the id the test records under */
  id: string;
  /** the issue item, as the table groups them */
  item: string;
  case: string;
  before: string;
  /** the test file, from the repository root */
  test: string;
  /** run only the tests of that file whose name matches (a long file with one case in it) */
  only?: string;
}

const PRIVATE_DIR = 'test/collectors/privateDir.test.ts';
const LOCK = 'test/collectors/node/attach-lock.test.ts';
const INSIDE = 'test/collectors/channel/inside.test.ts';
const OWN_INSPECTOR = 'test/collectors/node/own-inspector.test.ts';
const SERVER = 'test/server.e2e.test.ts';
const WINDOW = 'test/collectors/node/inspector-window.test.ts';

export const CASES: readonly ReliabilityCase[] = [
  {
    id: 'socket-sticky',
    item: '1',
    case: '`--socket` in a sticky shared dir (mode 1777), root agent',
    before: "dir chmodded to 0755 (sticky bit and others' write gone)",
    test: PRIVATE_DIR,
  },
  {
    id: 'socket-open-dir',
    item: '1',
    case: '`--socket` in a dir others can write, no sticky bit (0777)',
    before: 'chmodded to 0755, agent ran',
    test: PRIVATE_DIR,
  },
  {
    id: 'socket-planted',
    item: '1',
    case: 'default socket dir `<tmp>/rtprof-0` planted by uid 65534',
    before: 'refused (regression guard)',
    test: PRIVATE_DIR,
  },
  {
    id: 'lock-dead',
    item: '2',
    case: 'root-owned `rtprof-node-attach.lock` in sticky `/tmp`, dead holder, agent as uid 65534',
    before: 'agent spun at 100 % CPU, never printed `serving` (20 s timeout)',
    test: LOCK,
  },
  {
    id: 'lock-alive',
    item: '2',
    case: 'the same lock naming a live pid of another user',
    before: 'every Node attach waited 10 s and failed',
    test: LOCK,
  },
  {
    id: 'lock-dir-planted',
    item: '2',
    case: "the agent's lock dir planted by another user (root)",
    before: '—',
    test: LOCK,
  },
  {
    id: 'other-uid-channel',
    item: '3',
    case: 'root agent, Node and CPython 3.11 targets running as uid 65534 (Node with `--inspector-attach any`)',
    before: 'probes injected, connect() EACCES; `/api/targets` pending past the 25 s test timeout',
    test: INSIDE,
  },
  {
    id: 'pending-marker',
    item: '3',
    case: 'CPython parked in one blocking call (probe pending), agent stopped',
    before: 'attach marker left in `/tmp`',
    test: INSIDE,
  },
  {
    id: 'hostile',
    item: '4',
    case: 'hostile client with a launch token: 1000 new GC kinds, 256 resource types, 64 heap spaces per snapshot, plus 32 new names per snapshot within limits, plus 1e308; `/metrics` after 4 s',
    before: '6,354,909 bytes',
    test: 'test/collectors/channel/hostile.test.ts',
  },
  {
    id: 'own-inspector',
    item: '5',
    case: 'target answers SIGUSR1 by opening its own inspector on a free port',
    before: 'rtprof used that port as its own, ran the probe through it and closed it',
    test: OWN_INSPECTOR,
  },
  { id: 'host-any', item: '6', case: '`--host 0.0.0.0`', before: 'logged `serving http://127.0.0.1:…`', test: SERVER },
  { id: 'rebind', item: '6', case: '`GET /api/targets` with `Host: rebind.example.com`', before: '200', test: SERVER },
  {
    id: 'api-host',
    item: '6',
    case: '`--api-host` names (a Kubernetes Service DNS name, `*.suffix`)',
    before: '403 for every name but IPs, localhost and the hostname',
    test: SERVER,
  },
  {
    id: 'scrapes-100',
    item: '6',
    case: '100 concurrent scrapes, 8 targets',
    before: 'p99 943 ms (single fresh scrape 30 ms)',
    test: SERVER,
  },
  {
    id: 'debug-port-v6',
    item: '6',
    case: 'a listener on `[::1]` at the debug port (9339 via `--inspect-port`)',
    before: 'attach refused: "port taken"',
    test: OWN_INSPECTOR,
  },
  {
    id: 'gdb-path',
    item: '6',
    case: 'gdb only missing from PATH',
    before: '`gdb is not installed`',
    test: 'test/collectors/python-attach.test.ts',
    only: 'gdb missing from PATH',
  },
  {
    id: 'inspector-other-uid',
    item: '7',
    case: "root agent, Node target of uid 65534 in the agent's network namespace (the inspector window)",
    before: 'SIGUSR1 sent: 127.0.0.1:9229 open to every local user for 60–320 ms',
    test: WINDOW,
  },
  {
    id: 'inspector-any',
    item: '7',
    case: 'the same with `--inspector-attach any`',
    before: 'connected',
    test: WINDOW,
  },
  {
    id: 'inspector-own-netns',
    item: '7',
    case: 'Node target of uid 65534 in a network namespace of its own, default flags',
    before: 'connected',
    test: WINDOW,
  },
  {
    id: 'inspector-host-netns',
    item: '7',
    case: "agent in a network namespace of its own (`unshare --net`), Node target of uid 65534 in the host's",
    before: 'SIGUSR1 sent, attached through a relay into the host namespace',
    test: WINDOW,
  },
  {
    id: 'soak-short',
    item: '8',
    case: '50 s of churn: Node/CPython targets attached, preloaded, of uid 65534, killed mid-attach (the 60-minute run: below)',
    before: '—',
    test: 'test/bench/soak.test.ts',
  },
];
