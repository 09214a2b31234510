/** A mistake in how the orchestrator was asked to do something: exit code 1 / HTTP 400, never a crash. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Errors that mean "you asked for something that cannot be done", whatever module threw them. */
export function isUsageError(error: unknown): error is Error {
  return error instanceof Error && ['UsageError', 'SessionNotFoundError', 'SessionLockedError'].includes(error.name);
}
