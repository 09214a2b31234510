/**
 * Debugging aid (not a test): run one real CLI against the fake server with one scenario and print what
 * happened, requests included.
 *   npx tsx test/real-agents/support/explore.ts codex '{"kind":"err429"}' [launch-json] [settings-json]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeModelServer } from '../fake-model-server.js';
import { makeRunDir, prepareHome } from './agent-env.js';
import { describeRun, runAgent } from './run-agent.js';
import { PROVIDER_OF, type Scenario } from './scenarios.js';
import type { RealAgent } from './install.js';
import { chownTree, ensureTestUser } from './test-user.js';

const [agent, scenarioJson, launchJson, settingsJson] = process.argv.slice(2) as [RealAgent, string, string?, string?];
const server = await startFakeModelServer();
server.setScenario(PROVIDER_OF[agent], JSON.parse(scenarioJson) as Scenario);
const dir = makeRunDir(`explore-${agent}`);
const target = join(dir, 'target');
mkdirSync(target);
const env = prepareHome(join(dir, 'home'), join(dir, 'tmp'), server, settingsJson ? JSON.parse(settingsJson) : {});
const launch = {
  prompt: 'hello',
  targetDir: target,
  includeDirs: [],
  fixes: {},
  ...(launchJson ? JSON.parse(launchJson) : {}),
};
const user = process.env.AS_ROOT === '1' ? null : ensureTestUser();
chownTree(dir, user);
const run = await runAgent(agent, launch, {
  env,
  cwd: target,
  timeoutMs: Number(process.env.T ?? 60000),
  ...(user ? { uid: user.uid, gid: user.gid } : {}),
});
console.log(describeRun(run));
console.log('requests:');
for (const r of server.requests)
  console.log(
    `  ${r.seq} ${r.method} ${r.provider}${r.path}${r.query} ${r.kind} ${r.scenario ?? ''} ` +
      `status=${r.status} afterTool=${r.afterTool ?? ''} model=${r.model ?? ''} ${r.bodyBytes}B`,
  );
console.log('dir:', dir);
await server.close();
