// System tools some tests drive (promtool, a Prometheus server). .ci/run installs them; on a
// developer machine without them the test fails with the line that says what to install.
import { spawnSync } from 'node:child_process';

export function requireTool(command: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || !path) throw new Error(`${command} not found: apt-get install -y ${debianPackage} (bash .ci/run installs it)`);
  return path;
}
