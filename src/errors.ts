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
  noSuchPid: define('RTPROF_ERR_NO_SUCH_PID', 1, (pid) => `no process with pid ${pid} (check 'rtprof ps')`),
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
  launchFailed: define('RTPROF_ERR_LAUNCH', 1, (cmd, why) => `cannot start '${cmd}': ${why}`),
};

export type ErrorName = keyof typeof errors;
