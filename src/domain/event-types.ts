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
