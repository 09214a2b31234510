/**
 * `npm run build`, after `tsc --noEmit` has type-checked src/: each entry point bundled into one file of dist/
 * by esbuild, dependencies included. A process then loads one module instead of some three hundred (execa and
 * zod alone are two hundred files), which is most of what `orchestrate status` cost to start. The entry
 * points are what runs as a process: the CLI, each agent's network proxy, the demo's recorded agents, and the
 * statechart generator. Code finds the package's files through src/package-root.ts, never by its own depth.
 */
import { build } from 'esbuild';
import { chmodSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = `${root}dist`;

const ENTRY_POINTS = {
  cli: 'src/cli.ts',
  'safety/net-proxy': 'src/safety/net-proxy.ts',
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
  // ws loads these native speed-ups only if they are installed; they are not dependencies.
  external: ['bufferutil', 'utf-8-validate'],
  // Bundled CommonJS (commander, ws...) calls require() for Node's built-ins; an ES module has none of its own.
  banner: {
    js: "import { createRequire as __orchestrateRequire } from 'node:module'; const require = __orchestrateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
chmodSync(`${dist}/cli.js`, 0o755);
