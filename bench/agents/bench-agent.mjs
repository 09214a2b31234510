#!/usr/bin/env node
// A stand-in agent CLI for the benchmarks, run by the orchestrator exactly like claude/codex/gemini (through
// ORCHESTRATOR_<AGENT>_BIN). The wrapper points its stdout at the session's agent file, so what it writes is
// what the orchestrator follows. It ignores the agent argv except to tell which agent it plays.
//   BENCH_AGENT_MODE=bulk  write the corpus file BENCH_CORPUS_<AGENT> to stdout in large writes, exit 0
//   BENCH_AGENT_MODE=rate  write BENCH_RATE lines/s for BENCH_DURATION_MS; each line a claude assistant text
//                          line whose text is "bench-t=<epoch ms, fractional>" taken right before its write
//   BENCH_AGENT_MODE=hold  write the first line of the corpus, sleep BENCH_HOLD_MS, write the rest, exit 0
import { closeSync, openSync, readSync, readFileSync, writeSync } from 'node:fs';

const argv = process.argv.slice(2);
const agent = argv[0] === 'exec' ? 'codex' : argv.includes('--print') ? 'claude' : 'gemini';
const mode = process.env.BENCH_AGENT_MODE ?? 'bulk';
const corpus = process.env[`BENCH_CORPUS_${agent.toUpperCase()}`] ?? process.env.BENCH_CORPUS;

function writeAll(buffer) {
  let written = 0;
  while (written < buffer.length) written += writeSync(1, buffer, written, buffer.length - written);
}

if (mode === 'bulk') {
  const fd = openSync(corpus, 'r');
  const chunk = Buffer.alloc(1 << 20);
  for (;;) {
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    writeAll(chunk.subarray(0, n));
  }
  closeSync(fd);
} else if (mode === 'rate') {
  const template = JSON.parse(process.env.BENCH_TEMPLATE);
  const rate = Number(process.env.BENCH_RATE ?? 1000);
  const duration = Number(process.env.BENCH_DURATION_MS ?? 10_000);
  const final = process.env.BENCH_FINAL_LINE;
  const start = performance.now();
  let sent = 0;
  await new Promise((done) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      const due = Math.min(Math.floor((elapsed * rate) / 1000), Math.floor((duration * rate) / 1000));
      while (sent < due) {
        const t = (performance.timeOrigin + performance.now()).toFixed(3);
        template.message.content[0].text = `bench-t=${t} n=${sent}`;
        writeAll(Buffer.from(`${JSON.stringify(template)}\n`));
        sent++;
      }
      if (elapsed >= duration) done();
      else setTimeout(tick, 1);
    };
    tick();
  });
  if (final) writeAll(Buffer.from(`${final}\n`));
} else if (mode === 'hold') {
  const lines = readFileSync(corpus, 'utf8').split('\n').filter(Boolean);
  writeAll(Buffer.from(`${lines[0]}\n`));
  await new Promise((r) => setTimeout(r, Number(process.env.BENCH_HOLD_MS ?? 3_600_000)));
  writeAll(Buffer.from(`${lines.slice(1).join('\n')}\n`));
} else {
  process.stderr.write(`bench-agent: unknown BENCH_AGENT_MODE ${mode}\n`);
  process.exit(2);
}
