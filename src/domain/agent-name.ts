/**
 * An agent's name in a spec or an event: its own module, so that reading a spec (src/domain/spec.ts, which
 * `orchestrate status` does for every session) does not build every event schema of ./events.ts.
 */
import * as z from 'zod';

export const AgentNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'agent names are lowercase words');
export type AgentName = z.infer<typeof AgentNameSchema>;
