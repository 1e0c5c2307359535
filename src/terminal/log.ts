/** Where a run reports to the person who started it: stderr, unless asked to be quiet. */
export interface Terminal {
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** No progress, log lines or summary. */
  quiet: boolean;
}

export function log(terminal: Terminal, line: string): void {
  if (!terminal.quiet) terminal.stderr.write(`${line}\n`);
}
