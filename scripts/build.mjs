/**
 * `npm run build`, after `tsc --noEmit` has type-checked src/ and web/: each entry point bundled into one file of dist/
 * by esbuild, dependencies included. A process then loads one module instead of some three hundred (execa and zod alone
 * are two hundred files), which is most of what `orchestrate status` cost to start. The entry points are what runs as a
 * process: the CLI, each agent's network proxy, an interactive agent's stdin relay, the demo's recorded agents, and the
 * statechart generator. Code finds the package's files through src/package-root.ts, never by its own depth.
 *
 * The dashboard and the inspector (web/, TypeScript importing src/domain) are bundled for the browser into
 * dist/static/assets/, next to a copy of static/ (their pages, stylesheet and icon): the server serves
 * dist/static/ and nothing else, so what runs in the page is what was type-checked.
 */
import { build } from 'esbuild';
import { chmodSync, cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = `${root}dist`;

const ENTRY_POINTS = {
  cli: 'src/cli.ts',
  'safety/net-proxy': 'src/safety/net-proxy.ts',
  'actors/stdin-relay': 'src/actors/stdin-relay.ts',
  'demo/recorded-agent': 'src/demo/recorded-agent.ts',
  'scripts/statecharts': 'scripts/statecharts.ts',
};

// Everything but the chunks: an orchestrator still running from this folder loads chunks lazily (the hash in
// their names changes with their content), so a rebuild must not pull them from under it.
for (const entry of existsSync(dist) ? readdirSync(dist) : [])
  if (entry !== 'chunks') rmSync(`${dist}/${entry}`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ENTRY_POINTS,
  outdir: dist,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // ws loads these native speed-ups only if they are installed, pg its native client only if asked to; none is a
  // dependency.
  external: ['bufferutil', 'utf-8-validate', 'pg-native'],
  // Bundled CommonJS (commander, ws...) calls require() for Node's built-ins; an ES module has none of its own.
  banner: {
    js:
      "import { createRequire as __orchestrateRequire } from 'node:module'; " +
      'const require = __orchestrateRequire(import.meta.url);',
  },
  logLevel: 'warning',
});
chmodSync(`${dist}/cli.js`, 0o755);

cpSync(`${root}static`, `${dist}/static`, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: {
    app: 'web/app.ts',
    inspector: 'web/inspector.ts',
    // Not a page of its own: the browser test of the event log imports it to drive an EventLog on its own.
    'events-log': 'web/events-log.ts',
  },
  outdir: `${dist}/static/assets`,
  tsconfig: 'web/tsconfig.json',
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
