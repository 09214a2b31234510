/**
 * The stdin relay of an interactive agent: `node stdin-relay.js <fifo> <sent-log> -- <command> [args...]`.
 *
 * It runs the agent as its child, in the agent's process group (under the launch wrapper), and is the one writer
 * of the agent's stdin. The orchestrator writes envelopes, one JSON line each, into the FIFO: `{"id", "line"}` is
 * a line for the agent, `{"id", "end": true}` closes the agent's stdin (the conversation is over). The relay
 * forwards each id once, whatever the orchestrator sends again after a crash, and appends the id to the sent log,
 * which is how an orchestrator that came back knows what the agent already got.
 *
 * The relay holds the FIFO open for reading and writing, so it never sees an end of file and an orchestrator that
 * went away and came back finds the same pipe: the agent outlives the orchestrator, as in exec mode. The group's
 * signals are for the agent: the relay waits for it and exits with its status.
 */
import { appendFileSync, constants as fsConstants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { runGroupChild } from '../fs/group-child.js';
import { deliveredIds, parseEnvelope } from './relay-envelopes.js';

export const RELAY_USAGE = 'stdin-relay.js <fifo> <sent-log> -- <command> [args...]';

export function main(argv: readonly string[]): void {
  const [fifo, sentLog, separator, file, ...args] = argv;
  if (!fifo || !sentLog || separator !== '--' || !file) {
    process.stderr.write(`orchestrate stdin-relay: usage: ${RELAY_USAGE}\n`);
    process.exit(2);
  }
  const sent = deliveredIds(sentLog);
  const child = runGroupChild('stdin-relay', file, args, ['pipe', 'inherit', 'inherit']);
  const stdin = child.stdin;
  if (!stdin) return;
  // An agent that closed its stdin (or ended) must not take the relay down with EPIPE before its exit is seen.
  stdin.on('error', () => undefined);

  // Read and write: the pipe never reports an end, and outlives any one orchestrator that writes to it.
  const fd = openSync(fifo, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
  const input = new Socket({ fd, readable: true, writable: false });
  // Decoded as a stream: a character split between two reads stays whole.
  input.setEncoding('utf8');
  let pending = '';
  let ended = false;
  input.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
      const envelope = parseEnvelope(text);
      if (!envelope || sent.has(envelope.id) || ended) continue;
      sent.add(envelope.id);
      if ('end' in envelope) {
        ended = true;
        stdin.end();
      } else stdin.write(`${envelope.line}\n`);
      appendFileSync(sentLog, `${JSON.stringify({ id: envelope.id, at: new Date().toISOString() })}\n`);
    }
  });
  input.on('error', (error) => {
    process.stderr.write(`orchestrate stdin-relay: ${fifo}: ${error.message}\n`);
  });
}

if (process.argv[1] && import.meta.url.endsWith('/stdin-relay.js') && process.argv[1].endsWith('stdin-relay.js'))
  main(process.argv.slice(2));
