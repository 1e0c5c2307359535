import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
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

/** Where dashseg keeps what it downloads or derives: `$DASHSEG_HOME`, else ~/.cache/dashseg. */
export function dashsegHome(): string {
  return process.env.DASHSEG_HOME ?? join(homedir(), '.cache', 'dashseg');
}

/** ONNX graphs written from model directories, by the weights' hash (model/onnx/cache.ts). */
export function graphCacheDir(): string {
  return join(dashsegHome(), 'onnx');
}
