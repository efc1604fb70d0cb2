// Where the package's own files are, whether running from dist/ (compiled) or elsewhere.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

/** The directory holding rtprof's package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  root = dir;
  return dir;
}

export const PYTHON_PRELOAD_DIR = (): string => join(packageRoot(), 'collectors', 'python', 'preload');
