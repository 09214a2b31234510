/** Parsers of option values shared by the commands of src/cli.ts: one clear error for a bad value. */
import { InvalidArgumentError } from 'commander';

export function integer(name: string, min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

/** One `--notify` value: a webhook URL or `desktop` (repeatable: they add up). */
export function notifyOption(value: string, previous: string[] = []): string[] {
  if (value !== 'desktop' && !URL.canParse(value))
    throw new InvalidArgumentError('--notify takes a webhook URL or "desktop"');
  if (value !== 'desktop' && !/^https?:$/.test(new URL(value).protocol))
    throw new InvalidArgumentError('--notify: a webhook is an http:// or https:// URL');
  return [...previous, value];
}

/** A Postgres URL (postgres:// or postgresql://). */
export function storeUrl(value: string): string {
  if (!/^postgres(ql)?:\/\//.test(value) || !URL.canParse(value))
    throw new InvalidArgumentError('--store takes a postgres:// URL');
  return value;
}
