/**
 * The stdin relay, as a real process: it forwards each envelope id once to its child's stdin, records it in the
 * sent log, closes the child's stdin on `end`, and exits with the child's status. The orchestrator's writes wait
 * in the FIFO until the relay reads them. The relay runs from dist/ (`npm test` builds first).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentChannel, deliveredIds, makeFifo, STDIN_RELAY_SCRIPT } from '../../src/actors/agent-channel.js';
import { parseEnvelope, sentIds } from '../../src/actors/relay-envelopes.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

/** The relay around `sh -c 'cat > out; exit 3'`: what reached the child's stdin lands in `out`. */
function startRelay(fifo: string, sent: string, out: string) {
  const child = spawn(
    process.execPath,
    [STDIN_RELAY_SCRIPT, fifo, sent, '--', '/bin/sh', '-c', 'cat > "$0"; exit 3', out],
    {
      stdio: 'ignore',
    },
  );
  return new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
}

describe('stdin relay', () => {
  it('forwards each id once, records it, keeps characters whole, ends on `end`, exits with its child', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orch-relay-'));
    const fifo = join(dir, 'w.1.stdin');
    const sent = join(dir, 'w.1.sent.jsonl');
    const out = join(dir, 'out');
    makeFifo(fifo);
    makeFifo(fifo); // idempotent
    const channel = new AgentChannel(fifo);
    // Written before the relay runs: the pipe keeps them.
    channel.send({ id: 'a', line: 'first' });
    channel.send({ id: 'a', line: 'first, sent again after a crash' });
    // 200 kB of two-byte characters: the pipe's reads split some of them, and each must arrive whole.
    channel.send({ id: 'big', line: 'é'.repeat(100_000) });
    const exited = startRelay(fifo, sent, out);
    channel.send({ id: 'b', line: 'second' });
    channel.send({ id: 'end', end: true });
    channel.send({ id: 'c', line: 'after the end' });
    expect(await exited).toBe(3);
    channel.close();
    expect(readFileSync(out, 'utf8')).toBe(`first\n${'é'.repeat(100_000)}\nsecond\n`);
    expect([...deliveredIds(sent)]).toEqual(['a', 'big', 'b', 'end']);
  });

  it('envelopes and sent logs are read strictly; a torn last line was not sent', () => {
    expect(parseEnvelope('{"id":"a","line":"x"}')).toEqual({ id: 'a', line: 'x' });
    expect(parseEnvelope('{"id":"e","end":true}')).toEqual({ id: 'e', end: true });
    expect(parseEnvelope('{"line":"no id"}')).toBeNull();
    expect(parseEnvelope('garbage')).toBeNull();
    expect([...sentIds('{"id":"a","at":"t"}\n{"id":"b","at":"t"}\n{"id":"c"')]).toEqual(['a', 'b']);
  });
});
