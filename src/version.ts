// The package's own version, read once from its package.json: `--version` and the reports' footer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../collectors/paths';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    try {
      const version = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version;
      cached = typeof version === 'string' ? version : 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
