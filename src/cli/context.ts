import type { Terminal } from '../terminal/log';

/** What every command needs from the process, passed in so that commands stay testable. */
export interface CliContext extends Terminal {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  verbose: boolean;
}
