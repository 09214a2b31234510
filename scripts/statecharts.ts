/** `npm run statecharts`: write docs/statecharts/<machine>.md for every machine. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENTED_MACHINES, renderStatechartDoc } from '../src/machines/statechart-doc.js';
import { PACKAGE_ROOT } from '../src/package-root.js';

const dir = join(PACKAGE_ROOT, 'docs', 'statecharts');
mkdirSync(dir, { recursive: true });
for (const name of Object.keys(DOCUMENTED_MACHINES)) {
  const path = join(dir, `${name}.md`);
  writeFileSync(path, renderStatechartDoc(name));
  process.stdout.write(`wrote ${path}\n`);
}
