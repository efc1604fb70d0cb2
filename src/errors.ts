// Every error a user can meet, defined once with a stable code and an actionable message.
// Usage errors exit 2, runtime failures exit 1 (README: the CLI).

export class RtprofError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = 'RtprofError';
  }
}

type Factory = (...args: string[]) => RtprofError;

function define(code: string, exitCode: 1 | 2, message: (...args: string[]) => string): Factory {
  return (...args: string[]) => new RtprofError(code, message(...args), exitCode);
}

export const errors = {
  usage: define('RTPROF_ERR_USAGE', 2, (detail) => `${detail} (see 'rtprof --help')`),
  badPid: define('RTPROF_ERR_BAD_PID', 2, (value) => `--pid expects a process id (a positive integer), got '${value}'`),
  badDuration: define('RTPROF_ERR_BAD_DURATION', 2, (flag, value) => `${flag} expects a duration such as 500ms, 10s, 2m, got '${value}'`),
  badPort: define('RTPROF_ERR_BAD_PORT', 2, (value) => `--port expects a TCP port 0-65535, got '${value}'`),
  badRegex: define('RTPROF_ERR_BAD_REGEX', 2, (value, why) => `--match expects a regular expression, '${value}' is not one: ${why}`),
  badUrl: define('RTPROF_ERR_BAD_URL', 2, (flag, value) => `${flag} expects an http(s) URL, got '${value}'`),
  noSuchPid: define(
    'RTPROF_ERR_NO_SUCH_PID',
    1,
    (pid) =>
      `no process with pid ${pid} (check 'rtprof ps'; an agent in a container sees only its pod's pids: shareProcessNamespace: true, or hostPID: true for a DaemonSet)`,
  ),
  noPermission: define(
    'RTPROF_ERR_NO_PERMISSION',
    1,
    (pid) => `no permission to watch pid ${pid}: run as the same user or with CAP_SYS_PTRACE`,
  ),
  portInUse: define('RTPROF_ERR_PORT_IN_USE', 1, (host, port) => `port ${port} on ${host} is already in use: pick another with --port`),
  listenFailed: define('RTPROF_ERR_LISTEN', 1, (host, port, why) => `cannot listen on ${host}:${port}: ${why}`),
  noTargets: define('RTPROF_ERR_NO_TARGETS', 2, () => `nothing to watch: give --pid N, --discover, or a command after --`),
  notLinux: define(
    'RTPROF_ERR_NOT_LINUX',
    1,
    () => `rtprof reads /proc (schedstat, syscall, net/tcp) and runs on Linux only; run it in a Linux container or VM next to the service`,
  ),
  socketFailed: define(
    'RTPROF_ERR_SOCKET',
    1,
    (path, why) => `cannot open the probe socket ${path}: ${why}; choose another place with --socket PATH`,
  ),
  nsNoAccess: define(
    'RTPROF_ERR_NS_ACCESS',
    1,
    (pid, why) =>
      `no access to pid ${pid}'s namespaces and filesystem (${why}): run the agent as root with CAP_SYS_PTRACE (Kubernetes: securityContext.capabilities.add: ["SYS_PTRACE"])`,
  ),
  nsUser: define(
    'RTPROF_ERR_NS_USER',
    1,
    (pid) =>
      `pid ${pid} is in a user namespace the agent cannot enter: run the agent in the host's user namespace (a privileged DaemonSet), or as a sidecar in the target's pod`,
  ),
  nsReadOnly: define(
    'RTPROF_ERR_NS_READONLY',
    1,
    (pid) =>
      `pid ${pid}'s filesystem has no writable /tmp or /dev/shm to put the probe in: mount an emptyDir at /tmp in its container, or start it with 'rtprof run'`,
  ),
  nsNet: define(
    'RTPROF_ERR_NS_NET',
    1,
    (pid, why) =>
      `cannot enter pid ${pid}'s network namespace to reach its Node inspector (${why}): the agent needs root with CAP_SYS_ADMIN for that (Kubernetes: privileged, or run it as a sidecar in the target's pod)`,
  ),
  nsenterMissing: define(
    'RTPROF_ERR_NSENTER',
    1,
    (pid) => `pid ${pid} is in another network namespace and reaching its inspector needs nsenter: apt-get install util-linux`,
  ),
  otherUser: define(
    'RTPROF_ERR_OTHER_USER',
    1,
    (pid, uid, agentUid) =>
      `pid ${pid} runs as uid ${uid} and its probe could not connect to this agent (uid ${agentUid}): run the agent as root or as uid ${uid}`,
  ),
  inspectorOtherUser: define(
    'RTPROF_ERR_INSPECTOR_OTHER_USER',
    1,
    (pid, uid, agentUid, probe) =>
      `not opening pid ${pid}'s Node inspector: it runs as uid ${uid}, not the agent's uid ${agentUid}, in the agent's or the host's network namespace, where any local user could run code as uid ${uid} while it is open (docs/SECURITY.md); preload the probe (rtprof run -- node …, or NODE_OPTIONS="--require ${probe}"), or accept that with --inspector-attach any`,
  ),
  launchFailed: define('RTPROF_ERR_LAUNCH', 1, (cmd, why) => `cannot start '${cmd}': ${why}`),
};

export type ErrorName = keyof typeof errors;
