// `rtprof ps`: the Node and Python processes this user can see, and whether each can be attached.
import { userInfo } from 'node:os';
import { attachability, discover } from '../discovery';
import { HELP } from '../help';
import { parseFlags } from './options';

function userName(uid: number): string {
  if (uid === userInfo().uid) return userInfo().username;
  return uid === 0 ? 'root' : String(uid);
}

export async function runPs(argv: string[]): Promise<number> {
  const values = parseFlags(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(HELP.ps);
    return 0;
  }
  const found = discover(undefined, new Set([process.pid, process.ppid])).sort((a, b) => a.pid - b.pid);
  const rows = found.map((id) => {
    const attach = attachability(id);
    return {
      pid: id.pid,
      runtime: id.runtime,
      version: id.runtimeVersion ?? '?',
      user: userName(id.uid),
      attachable: attach.ok,
      how: attach.why,
      service: id.serviceName,
      command: id.argv.join(' '),
    };
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const width = process.stdout.columns ?? 120;
  process.stdout.write(
    `${'PID'.padStart(7)}  ${'RUNTIME'.padEnd(8)} ${'VERSION'.padEnd(9)} ${'USER'.padEnd(8)} ${'ATTACH'.padEnd(24)} COMMAND\n`,
  );
  for (const r of rows) {
    const attach = (r.attachable ? `yes: ${r.how}` : `no: ${r.how}`).slice(0, 24);
    const line = `${String(r.pid).padStart(7)}  ${r.runtime.padEnd(8)} ${r.version.padEnd(9)} ${r.user.slice(0, 8).padEnd(8)} ${attach.padEnd(24)} ${r.command}`;
    process.stdout.write(`${line.slice(0, Math.max(width, 60))}\n`);
  }
  if (rows.length === 0) process.stdout.write('(no Node or Python processes visible)\n');
  return 0;
}
