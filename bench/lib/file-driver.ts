/**
 * Appends lines to many agent output files at a steady rate, from its own process (so its CPU is not the
 * orchestrator's). The orchestrator only follows the files, so to it this is indistinguishable from the
 * agents writing. Usage (IPC): fork with argv [ratePerFile, durationMs, line], then send {files: string[]};
 * it replies {type:'done', lines} when the duration is over.
 */
import { appendFileSync } from 'node:fs';

const [rateArg, durationArg, line] = process.argv.slice(2);
const rate = Number(rateArg);
const duration = Number(durationArg);

process.once('message', (message: { files: string[] }) => {
  const files = message.files;
  const start = performance.now();
  let ticks = 0;
  let lines = 0;
  const tickMs = 1000 / rate;
  const tick = () => {
    const elapsed = performance.now() - start;
    const due = Math.min(Math.floor(elapsed / tickMs), Math.floor(duration / tickMs));
    while (ticks < due) {
      for (const file of files) {
        appendFileSync(file, `${line}\n`);
        lines++;
      }
      ticks++;
    }
    if (elapsed >= duration) {
      process.send?.({ type: 'done', lines });
      return;
    }
    setTimeout(tick, Math.max(1, tickMs / 4));
  };
  tick();
});
process.send?.({ type: 'ready' });
