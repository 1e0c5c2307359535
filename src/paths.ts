import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

/**
 * The installed package's root (where config/, weights/ and samples/ live), found by walking up from this file so
 * that it is the same whether the code runs compiled from dist/ or as TypeScript under the test runner.
 */
export function packageRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'config', 'defaults.json'))) {
      root = dir;
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`cannot find the dashseg package root above ${__dirname}`);
  }
}
