/**
 * Unknown spec keys, told by name: the keys the schema takes at a path, and the nearest one to a typo
 * (`unknown key "reviewz" (did you mean "reviews"?)`).
 */
import type * as z from 'zod';
import { SessionSpecSchema } from './spec.js';

/**
 * The keys a spec object takes at `path` (['workers', 0] -> a worker's keys), walking the schema itself, so the
 * list cannot drift from it.
 */
export function specKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = SessionSpecSchema;
  const unwrap = (s: z.ZodType): z.ZodType => {
    for (;;) {
      const def = (
        s as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType; options?: z.ZodType[] } }
      ).def;
      if (
        (def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault') &&
        def.innerType
      )
        s = def.innerType;
      else if (def.type === 'pipe' && def.in) s = def.in;
      else if (def.type === 'union' && def.options)
        s = def.options.find((o) => (o as unknown as { def: { type: string } }).def.type === 'object') ?? s;
      else return s;
      if ((s as unknown as { def: { type: string } }).def.type === 'object') return s;
    }
  };
  for (const step of path) {
    schema = unwrap(schema);
    const def = (schema as unknown as { def: { type: string; element?: z.ZodType } }).def;
    if (def.type === 'array' && def.element) schema = def.element;
    else if (def.type === 'object')
      schema = (schema as unknown as { shape: Record<string, z.ZodType> }).shape[String(step)] ?? schema;
    else return [];
  }
  schema = unwrap(schema);
  return (schema as unknown as { def: { type: string } }).def.type === 'object'
    ? Object.keys((schema as unknown as { shape: object }).shape)
    : [];
}

/** The first unrecognized key among zod's issues, also inside a union (the sandbox's object form). */
export function findUnknownKey(issues: readonly z.core.$ZodIssue[]): { key: string; path: PropertyKey[] } | null {
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') return { key: issue.keys[0] as string, path: issue.path };
    if (issue.code === 'invalid_union') {
      for (const branch of issue.errors) {
        const found = findUnknownKey(branch.map((i) => ({ ...i, path: [...issue.path, ...i.path] })));
        if (found) return found;
      }
    }
  }
  return null;
}

/** `unknown key "reviewz" (did you mean "reviews"?)`: what an unrecognized spec key is told as. */
export function describeUnknownKey(key: string, path: readonly PropertyKey[]): string {
  const where = path.length ? ` in ${path.join('.')}` : '';
  const known = specKeysAt(path);
  const nearest = closest(key, known);
  return (
    `unknown key "${key}"${where}` +
    `${nearest ? ` (did you mean "${nearest}"?)` : known.length ? ` (known: ${known.join(', ')})` : ''}`
  );
}

/** The candidate nearest to `word` by edit distance, when it is near enough to be a typo of it. */
export function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length] ?? 0;
}
