/** What every command needs from the process, passed in so that commands stay testable. */
export interface CliContext {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  verbose: boolean;
  quiet: boolean;
}

export function log(context: CliContext, line: string): void {
  if (!context.quiet) context.stderr.write(`${line}\n`);
}
