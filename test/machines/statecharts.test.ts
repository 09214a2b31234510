import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOCUMENTED_MACHINES, renderStatechartDoc } from '../../src/machines/statechart-doc.js';

describe('docs/statecharts', () => {
  for (const name of Object.keys(DOCUMENTED_MACHINES)) {
    it(`${name}.md is up to date with the machine (run \`npm run statecharts\` after changing it)`, () => {
      const committed = readFileSync(new URL(`../../docs/statecharts/${name}.md`, import.meta.url), 'utf8');
      expect(committed).toBe(renderStatechartDoc(name));
    });
  }
});
