/**
 * The names of the event types, for code that needs the list but not the schemas (the dashboard subscribes to
 * each on the SSE stream): src/domain/events.ts checks at compile time that it is exactly its union's types.
 */
export const EVENT_TYPES = [
  'agent',
  'state',
  'recovery',
  'blocker',
  'review',
  'decision',
  'safety',
  'workspace',
  'notification',
  'permission',
] as const;

/**
 * The answers a person can give a blocker (the CLI's `resolve` takes exactly these): src/domain/events.ts builds its
 * schema from this list, which needs no zod (the CLI starts without loading it).
 */
export const BLOCKER_CHOICES = [
  'retry',
  'skip',
  'stop',
  'answer',
  'agent',
  /** A PERMISSION_REQUEST: let the tool run once, refuse it, or let it and everything the same rule names run. */
  'allow',
  'deny',
  'allow-always',
] as const;
