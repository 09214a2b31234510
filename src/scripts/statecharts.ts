/** `npm run statecharts`: write docs/statecharts/<machine>.md for every machine. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCUMENTED_MACHINES, renderStatechartDoc } from '../machines/statechart-doc.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = join(root, 'docs', 'statecharts');
mkdirSync(dir, { recursive: true });
for (const name of Object.keys(DOCUMENTED_MACHINES)) {
  const path = join(dir, `${name}.md`);
  writeFileSync(path, renderStatechartDoc(name));
  process.stdout.write(`wrote ${path}\n`);
}
