/**
 * An error the user can cause and fix: a missing file, a bad flag, an unreadable video. The CLI prints its message
 * as one line without a stack trace; everything else is a bug and is reported as one.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
