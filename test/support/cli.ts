import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CLI = join(__dirname, '..', '..', 'bin', 'dashseg.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start a built script (npm test builds first) with node, as a user would run it. */
export function startScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd?: string,
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd !== undefined ? { cwd } : {}) });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Start the built CLI as a user would run it. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; done: Promise<CliResult> } {
  return startScript(CLI, args, env);
}

/** Resolves once the file at `path` holds more than `count` lines: a running command is then known to be part-way. */
export function whenMoreLines(path: string, count: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (existsSync(path) && readFileSync(path, 'utf8').split('\n').length > count) {
        clearInterval(poll);
        resolve();
      }
    }, 50);
  });
}

/** Run the CLI to completion; a hang fails the test through `timeoutMs` instead of stalling the suite. */
export async function runCli(args: string[], timeoutMs = 60_000, env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const { child, done } = startCli(args, env);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const result = await done;
    if (result.signal === 'SIGKILL') throw new Error(`dashseg ${args.join(' ')} hung for ${timeoutMs} ms`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A user error as the CLI must report it: exactly one line, `dashseg: ...`, and no stack trace. Lines matching
 * `ignore` (informational output printed before the error, such as the backend line) are not counted.
 * Returns the error line for the caller's own expectations.
 */
export function oneErrorLine(stderr: string, ignore?: RegExp): string {
  const lines = stderr.split('\n').filter((line) => line.trim() !== '' && !(ignore?.test(line) ?? false));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^dashseg: /);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0] as string;
}
