/**
 * Fresh, isolated homes for the real CLIs, pointed at the fake model server through the environment and
 * their own config files (no argv of ours is changed: the orchestrator passes nothing extra either).
 *
 * - claude: ANTHROPIC_BASE_URL + ANTHROPIC_API_KEY (+ CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC, and
 *   CLAUDE_CODE_MAX_RETRIES=1 so an error costs one retry, not ten).
 * - codex: $HOME/.codex/config.toml defines the `fake` provider (Responses API over HTTP, no websockets,
 *   one request retry, one stream retry) and makes it the default with a model, so `codex exec` needs no
 *   `-c` flags and no wrapper; CODEX_API_KEY is its env_key.
 * - gemini: GOOGLE_GEMINI_BASE_URL + GEMINI_API_KEY, and $HOME/.gemini/settings.json choosing the API-key
 *   auth (else a base URL alone selects the "gateway" auth 0.61 rejects) and general.maxAttempts=1 (else a
 *   429 or 500 is retried for minutes).
 *
 * - opencode: $XDG_CONFIG_HOME/opencode/opencode.json defines the `fake` provider (its bundled openai-compatible one,
 *   Chat Completions) and its model, with no title generation; OPENCODE_DISABLE_MODELS_FETCH, and stub files there
 *   that keep it from installing its plugin package from the registry at every start. What makes it ask before it
 *   acts is the orchestrator's (OPENCODE_CONFIG_CONTENT, src/agents/acp-agents.ts).
 * - qwen: OPENAI_BASE_URL + OPENAI_API_KEY + OPENAI_MODEL (Chat Completions), and $HOME/.qwen/settings.json with no
 *   usage statistics (its only other host), no memory extraction or follow-up suggestions (model calls of their
 *   own), and no SDK retries.
 *
 * Homes live under a base outside /tmp (codex refuses to create its helper binaries under the temp dir),
 * and TMPDIR is a sibling of HOME (gemini writes error reports to the temp dir; codex compares HOME with it).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { binaryPath } from './install.js';
import type { FakeModelServer } from '../fake-model-server.js';

export const DUMMY_KEY = 'dummy-not-a-real-key';

/**
 * Where homes, targets and workspaces go: ORCHESTRATOR_REAL_AGENTS_WORKDIR or /var/tmp/meta-orchestrator-real-agents.
 */
export function workBase(env: NodeJS.ProcessEnv = process.env): string {
  return env.ORCHESTRATOR_REAL_AGENTS_WORKDIR?.trim() || '/var/tmp/meta-orchestrator-real-agents';
}

/** A fresh folder for one run (mkdtemp under the work base); the caller chowns it to the test user. */
export function makeRunDir(label: string): string {
  const base = workBase();
  mkdirSync(base, { recursive: true, mode: 0o755 });
  // The base may be shared with an unprivileged user: let it traverse, not list.
  if (process.getuid?.() === 0) chmodSync(base, 0o711);
  return mkdtempSync(join(base, `${label}-`));
}

export interface AgentSettings {
  /** claude: CLAUDE_CODE_MAX_RETRIES (default 1). */
  claudeMaxRetries?: number;
  /** codex: request_max_retries / stream_max_retries of the fake provider (default 1 / 1). */
  codexRequestRetries?: number;
  codexStreamRetries?: number;
  /** codex's model (default gpt-5.5, the one the fixtures used). */
  codexModel?: string;
  /** gemini: general.maxAttempts (default 1, its minimum). */
  geminiMaxAttempts?: number;
  /** gemini: model.name in settings.json; unset = the CLI's "auto" router. */
  geminiModel?: string;
}

/**
 * Write the config files of every agent into `home` and return the environment that points them at the
 * fake server. One home can serve all three CLIs (each keeps to its own dot-folder).
 */
export function prepareHome(
  home: string,
  tmp: string,
  server: FakeModelServer,
  settings: AgentSettings = {},
): Record<string, string> {
  mkdirSync(join(home, '.codex'), { recursive: true });
  mkdirSync(join(home, '.gemini'), { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const codexConfig = [
    `model = "${settings.codexModel ?? 'gpt-5.5'}"`,
    'model_provider = "fake"',
    '',
    '[model_providers.fake]',
    'name = "fake"',
    `base_url = "${server.baseUrls.openai}"`,
    'env_key = "CODEX_API_KEY"',
    'wire_api = "responses"',
    'supports_websockets = false',
    `request_max_retries = ${settings.codexRequestRetries ?? 1}`,
    `stream_max_retries = ${settings.codexStreamRetries ?? 1}`,
    '',
  ].join('\n');
  writeFileSync(join(home, '.codex', 'config.toml'), codexConfig);
  const geminiSettings: Record<string, unknown> = {
    security: { auth: { selectedType: 'gemini-api-key' } },
    general: { maxAttempts: settings.geminiMaxAttempts ?? 1 },
  };
  if (settings.geminiModel) geminiSettings.model = { name: settings.geminiModel };
  writeFileSync(join(home, '.gemini', 'settings.json'), `${JSON.stringify(geminiSettings, null, 2)}\n`);
  prepareAcpAgents(home, server);
  return {
    HOME: home,
    TMPDIR: tmp,
    TERM: 'dumb',
    LANG: 'C.UTF-8',
    // node first: gemini's launcher is `#!/usr/bin/env node`; the pinned binaries come by absolute path.
    PATH: [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    ANTHROPIC_BASE_URL: server.baseUrls.anthropic,
    ANTHROPIC_API_KEY: DUMMY_KEY,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_MAX_RETRIES: String(settings.claudeMaxRetries ?? 1),
    CODEX_API_KEY: DUMMY_KEY,
    GEMINI_API_KEY: DUMMY_KEY,
    GOOGLE_GEMINI_BASE_URL: server.baseUrls.gemini,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    XDG_CACHE_HOME: join(home, '.cache'),
    OPENCODE_DISABLE_MODELS_FETCH: '1',
    OPENCODE_DISABLE_AUTOUPDATE: '1',
    OPENAI_BASE_URL: server.baseUrls.chat,
    OPENAI_API_KEY: DUMMY_KEY,
    OPENAI_MODEL: 'fake-model',
    QWEN_USAGE_STATISTICS_ENABLED: 'false',
  };
}

/** opencode's and qwen's configuration (module comment). */
function prepareAcpAgents(home: string, server: FakeModelServer): void {
  const opencode = join(home, '.config', 'opencode');
  mkdirSync(join(opencode, 'node_modules'), { recursive: true });
  const plugin = { dependencies: { '@opencode-ai/plugin': '*' } };
  writeFileSync(join(opencode, 'package.json'), JSON.stringify(plugin));
  writeFileSync(join(opencode, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': plugin } }));
  const model = { name: 'Fake model', tool_call: true, limit: { context: 200000, output: 8192 } };
  const config = {
    model: 'fake/fake-model',
    small_model: 'fake/fake-model',
    provider: {
      fake: {
        npm: '@ai-sdk/openai-compatible',
        name: 'Fake (chat completions)',
        options: { baseURL: server.baseUrls.chat, apiKey: DUMMY_KEY },
        models: { 'fake-model': model },
      },
    },
    enabled_providers: ['fake'],
    autoupdate: false,
    share: 'disabled',
    lsp: false,
    formatter: false,
    agent: { title: { disable: true } },
  };
  writeFileSync(join(opencode, 'opencode.json'), `${JSON.stringify(config, null, 2)}\n`);
  mkdirSync(join(home, '.qwen'), { recursive: true });
  const qwen = {
    security: { auth: { selectedType: 'openai' } },
    model: { name: 'fake-model', generationConfig: { maxRetries: 0 } },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    general: { enableAutoUpdate: false },
    memory: { enableManagedAutoMemory: false, enableManagedAutoDream: false },
    ui: { enableFollowupSuggestions: false },
  };
  writeFileSync(join(home, '.qwen', 'settings.json'), `${JSON.stringify(qwen, null, 2)}\n`);
}

/** ORCHESTRATOR_{CLAUDE,CODEX,GEMINI,OPENCODE,QWEN}_BIN for the pinned binaries. */
export function binEnv(): Record<string, string> {
  return {
    ORCHESTRATOR_CLAUDE_BIN: binaryPath('claude'),
    ORCHESTRATOR_CODEX_BIN: binaryPath('codex'),
    ORCHESTRATOR_GEMINI_BIN: binaryPath('gemini'),
    ORCHESTRATOR_OPENCODE_BIN: binaryPath('opencode'),
    ORCHESTRATOR_QWEN_BIN: binaryPath('qwen'),
  };
}

export function removeRunDir(dir: string): void {
  if (process.env.ORCHESTRATOR_REAL_AGENTS_KEEP === '1') return;
  rmSync(dir, { recursive: true, force: true });
}
