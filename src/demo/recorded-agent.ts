/**
 * Entry point of the recorded-agent player: `node dist/demo/recorded-agent.js <argv of claude|codex|gemini>`.
 * `orchestrate demo` points ORCHESTRATOR_<AGENT>_BIN at small launchers (see launchers.ts) that set
 * DEMO_AGENT_PERSONA and import this module. Environment: DEMO_AGENT_PERSONA, DEMO_AGENT_SPEED (multiplier of
 * the recorded sleeps, 0 = none), DEMO_TRANSCRIPTS_DIR, DEMO_STATE_DIR. Exits 0 after a transcript, 2 when it
 * cannot tell what to play, 143 on SIGTERM (130 on SIGINT), like the real CLIs.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { runRecordedAgent } from './player.js';

process.on('SIGTERM', () => process.exit(143));
process.on('SIGINT', () => process.exit(130));
// The reader went away (the orchestrator killed its end of the pipe): stop quietly.
process.stdout.on('error', () => process.exit(1));

const writeOut = (text: string): Promise<void> =>
  new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });

process.exitCode = await runRecordedAgent({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: writeOut,
  stderr: (text) => {
    if (text) process.stderr.write(text);
  },
  sleep: (ms) => delay(ms),
});
