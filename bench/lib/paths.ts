import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_DIR = join(ROOT, 'bench');
export const AGENTS_DIR = join(BENCH_DIR, 'agents');
export const FAKE_AGENT = join(ROOT, 'test', 'fixtures', 'fake-agent.mjs');
export const CLI = join(ROOT, 'dist', 'cli.js');
