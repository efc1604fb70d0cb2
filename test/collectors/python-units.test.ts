// Pure parts of the Python attach: the 3.14 remote_exec command (no 3.14 is installed here), the
// disable-remote-debug detection, gdb output to one line, and the injected loader run for real.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { buildRemoteExecCommand } from '../../collectors/python/attach';
import { readGdbOutput } from '../../collectors/python/gdb';
import { ProbeConfig } from '../../collectors/probeConfig';
import { buildInjectionCode, pythonProbeDir, pythonProbeFiles } from '../../collectors/python/injection';
import { readRemoteExecFailure } from '../../collectors/python/remoteExec';
import { remoteDebugDisabled, versionFromNames } from '../../collectors/python/target';

describe('python attach, pure parts', () => {
  it('remote_exec runs the target’s own interpreter, checks major.minor, passes pid and script', () => {
    const cmd = buildRemoteExecCommand({
      pid: 4321,
      exe: '/usr/local/bin/python3.14',
      scriptPath: '/tmp/rtprof-attach-4321-ab.py',
      major: 3,
      minor: 14,
    });
    assert.equal(cmd.file, '/usr/local/bin/python3.14');
    assert.deepEqual(cmd.args.slice(0, 3), ['-I', '-S', '-c']);
    assert.match(cmd.args[3], /sys\.version_info\[:2\] != \(3, 14\)/);
    assert.match(cmd.args[3], /sys\.remote_exec\(4321, "\/tmp\/rtprof-attach-4321-ab\.py"\)/);
    // It is valid Python (compiled, not run, by the local interpreter).
    execFileSync('/usr/bin/python3', ['-c', `compile(${JSON.stringify(cmd.args[3])}, "x", "exec")`]);
  });

  it('remote_exec into a container: the helper runs in the target’s mount namespace, with the script’s in-target path', () => {
    const cmd = buildRemoteExecCommand({
      pid: 4321,
      exe: '/usr/local/bin/python3.14',
      scriptPath: '/tmp/rtprof-77-0011aabb/m/rtprof-attach-4321-ab.py',
      major: 3,
      minor: 14,
      enterMountNs: true,
    });
    assert.equal(cmd.file, 'nsenter');
    assert.deepEqual(cmd.args.slice(0, 6), ['--mount=/proc/4321/ns/mnt', '--', '/usr/local/bin/python3.14', '-I', '-S', '-c']);
    assert.match(cmd.args[6]!, /sys\.remote_exec\(4321, "\/tmp\/rtprof-77-0011aabb\/m\/rtprof-attach-4321-ab\.py"\)/);
  });

  it('disable-remote-debug by env or -X is seen, and refused like ptrace', () => {
    assert.equal(remoteDebugDisabled('A=1\0PYTHON_DISABLE_REMOTE_DEBUG=1\0', 'python3\0app.py\0'), true);
    assert.equal(remoteDebugDisabled('A=1\0', 'python3\0-X\0disable_remote_debug\0app.py\0'), true);
    assert.equal(remoteDebugDisabled('A=1\0', 'python3\0-Xdisable-remote-debug\0app.py\0'), true);
    assert.equal(remoteDebugDisabled('PYTHON_DISABLE_REMOTE_DEBUG=\0', 'python3\0app.py\0'), false);
    assert.match(
      readRemoteExecFailure('RuntimeError: Remote debugging is not enabled in the remote process', 1),
      /CAP_SYS_PTRACE.*disabled remote debugging/,
    );
    assert.match(
      readRemoteExecFailure('PermissionError: [Errno 1] Operation not permitted', 1),
      /run as the same user or with CAP_SYS_PTRACE/,
    );
  });

  it('versions from libpython or the exe name', () => {
    assert.deepEqual(versionFromNames('7f.. /usr/lib/libpython3.12.so.1.0\n', '/usr/bin/python3'), { major: 3, minor: 12 });
    assert.deepEqual(versionFromNames('', '/usr/bin/python3.11'), { major: 3, minor: 11 });
    assert.equal(versionFromNames('', '/usr/bin/node'), null);
  });

  it('gdb output becomes one line', () => {
    assert.deepEqual(readGdbOutput('RTPROF-ATTACHED \nRTPROF-WAITING \nRTPROF-SAFEPOINT PyEval_RestoreThread\nRTPROF-QUEUED 0\n', 1), {
      ok: true,
      via: 'safepoint',
      detail: 'PyEval_RestoreThread',
    });
    assert.equal(readGdbOutput('RTPROF-WAITING \nRTPROF-IDLE 77\nRTPROF-QUEUED 0\n', 1).ok, true);
    assert.deepEqual(readGdbOutput('RTPROF-ATTACHED \nRTPROF-SYSCALL 4242 232 3\nRTPROF-QUEUED 0\n', 1), {
      ok: true,
      via: 'syscall',
      detail: 'thread 4242 in a system call',
    });
    const refused = readGdbOutput('Could not attach to process.  If your uid matches...\nptrace: Operation not permitted.\n', 9);
    assert.match(!refused.ok ? refused.reason : '', /in Kubernetes add SYS_PTRACE/);
    const gone = readGdbOutput('ptrace: No such process.\n', 9);
    assert.match(!gone.ok ? gone.reason : '', /exited during attach/);
    const nosym = readGdbOutput('RTPROF-ATTACHED \nRTPROF-NOSYMBOLS Py_AddPendingCall,PyRun_SimpleString\n', 9);
    assert.match(!nosym.ok ? nosym.reason : '', /not a CPython with its C API symbols/);
  });

  it('the injected loader starts the probe once, in its own namespace, and reports load errors', () => {
    const dir = fs.mkdtempSync('/tmp/rtprof-unit-');
    const marker = path.join(dir, 'rtprof-x.marker');
    const code = buildInjectionCode(
      pythonProbeDir(),
      ProbeConfig.python({ socketPath: path.join(dir, 'none.sock'), token: 't'.repeat(20), intervalMs: 1000 }, 'gdb', marker),
    );
    const script = `${code}${code}g = sorted(k for k in globals() if not k.startswith('__'))\nimport threading\nprint(g, sum(t.name == 'rtprof-probe' for t in threading.enumerate()))`;
    const out = execFileSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' });
    assert.equal(out.trim(), '[] 1');
    const broken = buildInjectionCode(
      path.join(dir, 'missing'),
      ProbeConfig.python({ socketPath: 's', token: 't'.repeat(20), intervalMs: 1000 }, 'gdb', marker),
    );
    execFileSync('/usr/bin/python3', ['-c', broken]);
    assert.match(fs.readFileSync(marker + '.error', 'utf8'), /FileNotFoundError/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  it('the package shipped as pythonProbeFiles() loads from a copy anywhere, sys.path untouched', () => {
    const files = pythonProbeFiles();
    for (const f of ['__init__.py', '_loader.py', 'probe.py', 'hooks/__init__.py', 'hooks/asyncio_streams.py'])
      assert.ok(files.includes(f), `${f} in ${files.join(' ')}`);
    assert.ok(files.every((f) => f.endsWith('.py') && !f.includes('__pycache__')));
    const dir = fs.mkdtempSync('/tmp/rtprof-unit-');
    const copy = path.join(dir, 'elsewhere');
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
      fs.copyFileSync(path.join(pythonProbeDir(), f), path.join(copy, f));
    }
    const code = buildInjectionCode(
      copy,
      ProbeConfig.python(
        { socketPath: path.join(dir, 'none.sock'), token: 't'.repeat(20), intervalMs: 1000 },
        'gdb',
        path.join(dir, 'rtprof-y.marker'),
      ),
    );
    const script = `import sys\np = list(sys.path)\n${code}print(sys.modules["rtprof_probe"].__path__[0], sys.path == p)`;
    const out = execFileSync('/usr/bin/python3', ['-c', script], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    assert.equal(out.trim(), `${copy} True`);
    assert.equal(fs.existsSync(path.join(dir, 'rtprof-y.marker.error')), false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
