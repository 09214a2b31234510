/** Parsers of option values shared by the commands of src/cli.ts: one clear error for a bad value. */
import { type Command, InvalidArgumentError } from 'commander';

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

/** `serve`'s options for a fleet's API node (src/cli/fleet-serve-command.ts). */
export function fleetServeOptions(command: Command): Command {
  return command
    .option(
      '--store <url>',
      "a fleet's API node instead: the sessions of this postgres:// database, run by its runners " +
        '(default: $ORCHESTRATOR_DATABASE_URL; docs/fleet.md)',
      storeUrl,
    )
    .option(
      '--reply-wait-sec <n>',
      'with --store: how long a request for a session waits for its runner to answer',
      integer('--reply-wait-sec', 1, 3600),
      30,
    );
}

/** `apply`'s options for a fleet session (src/cli/fleet-apply-command.ts). */
export function fleetApplyOptions(command: Command): Command {
  return command
    .option(
      '--store <url>',
      "a fleet session: fetch its branches from its repository into this checkout's (default: " +
        '$ORCHESTRATOR_DATABASE_URL, for a session not in the workspace)',
      storeUrl,
    )
    .option('-C, --dir <dir>', 'with --store: the checkout to apply into (default: the current directory)');
}
