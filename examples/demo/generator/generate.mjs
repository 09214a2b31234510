// Regenerates ../transcripts/*.jsonl, the recorded transcripts of `orchestrate demo`, from the demo project
// (../../demo-project, the "before") and ./after (the files as the recorded agents leave them). Command outputs
// (npm test, git diff, node -e probes) are produced by really running them on a temporary copy, so the
// transcripts tell the truth about the files they write. Run: node examples/demo/generator/generate.mjs
// The prose (summaries, test counts, verdicts) is written here by hand: keep it in step with ./after.
// Then check: npx vitest run test/demo. Needs node and git; not part of the package's runtime.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const PROJECT = join(HERE, '..', '..', 'demo-project');
const AFTER = join(HERE, 'after');
const OUT = join(HERE, '..', 'transcripts');
const read = (p) => readFileSync(p, 'utf8');

const orig = { text: read(join(PROJECT, 'src/text.js')), test: read(join(PROJECT, 'test/text.test.js')) };
const fin = { text: read(join(AFTER, 'src/text.js')), test: read(join(AFTER, 'test/text.test.js')), readme: read(join(AFTER, 'README.md')) };
const ARCH = read(join(AFTER, 'ARCHITECTURE.md'));
if (!fin.text.startsWith(orig.text)) throw new Error('after/src/text.js must extend the original (the implementer appends slugify)');

// A git copy of the project, then the "after" files over it: the real outputs come from there.
const work = mkdtempSync(join(tmpdir(), 'demo-transcripts-'));
cpSync(PROJECT, work, { recursive: true });
const git = (...a) => execFileSync('git', ['-c', 'user.name=demo', '-c', 'user.email=demo@example.invalid', ...a], { cwd: work, encoding: 'utf8' });
git('init', '-q');
git('add', '-A');
git('commit', '-qm', 'demo project');
for (const file of ['src/text.js', 'test/text.test.js']) writeFileSync(join(work, file), read(join(AFTER, file)));
const node = (...a) => execFileSync(process.execPath, a, { cwd: work, encoding: 'utf8' });
const DIFF = git('diff', '--', 'src/text.js');
// The spec reporter, as current Node prints it (Node 20 prints TAP when stdout is not a terminal).
const NPM_TEST = `\n> text-kit@1.0.0 test\n> node --test\n\n${node('--test', '--test-reporter=spec')}`;
const probe = node('-e', "import('./src/text.js').then(({ slugify }) => console.log(JSON.stringify([slugify('Crème Brûlée'), slugify('Привет мир'), slugify('東京 2026')])))");
const tryIt = node('-e', "import('./src/text.js').then(({ slugify }) => { console.log(slugify('Crème Brûlée: 10 Recipes!')); console.log(slugify('  Hello,   World  ')); })");
rmSync(work, { recursive: true, force: true });
const finLines = fin.text.replace(/\n$/, '').split('\n');
const slugDoc = finLines.slice(0, finLines.findIndex((l) => l.startsWith('export function slugify'))).lastIndexOf('/**') + 1;
const sedRange = `${slugDoc},${finLines.length}`;
const sedOut = finLines.slice(slugDoc - 1).join('\n') + '\n';
const slugLine = fin.text.split('\n').findIndex((l) => l.includes("replace(/[^a-z0-9]+/g, '-')")) + 1;
const testSlugLine = fin.test.split('\n').findIndex((l) => l.includes("describe('slugify'")) + 1;

const J = (o) => JSON.stringify(o);
const S = (ms) => J({ _demo: { sleepMs: Math.round((ms * 0.75) / 10) * 10 } });
const W = (path, content) => J({ _demo: { write: { path, content } } });
const catN = (text, start = 1) => text.replace(/\n$/, '').split('\n').map((l, i) => `${String(i + start).padStart(6)}→${l}`).join('\n');
const TS = '{{TIMESTAMP}}';
/** A stable id that looks like an Anthropic one (`msg_01...`, `toolu_01...`): base62 of a hash of `seed`. */
const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const anthropicId = (prefix, seed) => `${prefix}_01${[...createHash('sha256').update(seed).digest()].slice(0, 22).map((b) => B62[b % 62]).join('')}`;
const save = (name, lines) => {
  writeFileSync(join(OUT, name), lines.join('\n') + '\n');
  const ms = lines.filter((l) => l.startsWith('{"_demo":{"sleepMs"')).reduce((s, l) => s + JSON.parse(l)._demo.sleepMs, 0);
  console.log(name, lines.length, 'lines', ms, 'ms');
};
mkdirSync(OUT, { recursive: true });

// ------------------------------------------------------------------------------------------------ gemini
function gemini() {
  let n = 0;
  const base = 1795239220752;
  const out = [];
  const add = (...l) => out.push(...l);
  const id = (name) => `${name}__${name}_${base + n * 173}_${n++ % 3}`;
  const init = () => add(J({ type: 'init', timestamp: TS, session_id: '{{SESSION_ID}}', model: '{{MODEL}}' }), J({ type: 'message', timestamp: TS, role: 'user', content: '{{PROMPT}}' }));
  const say = (text, pause = 90) => {
    const words = text.split(/(?<= )/);
    let chunk = '';
    for (const w of words) {
      chunk += w;
      if (chunk.length > 70) { add(J({ type: 'message', timestamp: TS, role: 'assistant', content: chunk, delta: true }), S(pause)); chunk = ''; }
    }
    if (chunk) add(J({ type: 'message', timestamp: TS, role: 'assistant', content: chunk, delta: true }));
  };
  let tools = 0;
  const use = (name, parameters) => { const t = id(name); tools++; add(J({ type: 'tool_use', timestamp: TS, tool_name: name, tool_id: t, parameters })); return t; };
  const result = (t, output) => add(J({ type: 'tool_result', timestamp: TS, tool_id: t, status: 'success', output }));
  const todos = (items) => {
    const t = use('write_todos', { todos: items.map(([description, status]) => ({ description, status })) });
    add(S(150));
    result(t, `Successfully updated the todo list. The current list is now:\n${items.map(([d, s], i) => `${i + 1}. [${s}] ${d}`).join('\n')}`);
  };
  const end = (stats) => add(J({ type: 'result', timestamp: TS, status: 'success', stats: { ...stats, tool_calls: tools, models: { 'gemini-3-pro-preview': { total_tokens: stats.total_tokens, input_tokens: stats.input_tokens, output_tokens: stats.output_tokens, cached: stats.cached, input: stats.input } } } }));
  return { out, add, init, say, use, result, todos, end };
}

{ // architect
  const g = gemini();
  const T = ['Survey the project layout and the existing helpers', 'Design slugify: normalisation, separators, edge cases', 'Write ARCHITECTURE.md with a plan the implementer can follow', 'Summarise the design'];
  g.init(); g.add(S(600));
  g.say("I'll start by getting an overview of the project and its conventions."); g.add(S(250));
  g.todos([[T[0], 'in_progress'], [T[1], 'pending'], [T[2], 'pending'], [T[3], 'pending']]); g.add(S(250));
  let t = g.use('list_directory', { dir_path: '{{CWD}}' }); g.add(S(200)); g.result(t, 'Listed 4 item(s).'); g.add(S(250));
  const a = g.use('read_file', { file_path: '{{CWD}}/package.json' });
  const b = g.use('read_file', { file_path: '{{CWD}}/src/text.js' });
  const c = g.use('read_file', { file_path: '{{CWD}}/test/text.test.js' });
  g.add(S(350)); g.result(a, ''); g.result(b, ''); g.result(c, ''); g.add(S(400));
  g.say('The project is a dependency-free ES module with three pure string helpers in `src/text.js`, tested with `node:test`. `slugify` belongs next to them: the standard library covers accent stripping with Unicode normalization, so no dependency is needed.', 110);
  g.add(S(300));
  g.todos([[T[0], 'completed'], [T[1], 'in_progress'], [T[2], 'pending'], [T[3], 'pending']]); g.add(S(500));
  g.say('Design: NFKD-normalize, drop the combining marks, lower-case, turn every run of other characters into one dash, trim the dashes. The one real risk is non-Latin text, which has no ASCII form.', 110);
  g.add(S(300));
  g.todos([[T[0], 'completed'], [T[1], 'completed'], [T[2], 'in_progress'], [T[3], 'pending']]); g.add(S(300));
  t = g.use('write_file', { file_path: '{{CWD}}/ARCHITECTURE.md', content: ARCH }); g.add(S(400));
  g.add(W('ARCHITECTURE.md', ARCH));
  g.result(t, 'Successfully created and wrote to new file: {{CWD}}/ARCHITECTURE.md.'); g.add(S(300));
  g.todos([[T[0], 'completed'], [T[1], 'completed'], [T[2], 'completed'], [T[3], 'completed']]); g.add(S(400));
  g.say('Design written to ARCHITECTURE.md. `slugify(text)` is one more pure, exported function in `src/text.js`: NFKD-normalize, drop combining marks, lower-case, replace every run of non-alphanumeric characters with a single dash, and trim dashes at both ends. No new module, no dependency. Tests go in a `describe(\'slugify\')` block in `test/text.test.js` (plain words, accents, punctuation, an empty result). Known limitation: non-Latin scripts have no ASCII form and are dropped; document it. Plan: 1) implement slugify, 2) import and test it, 3) run npm test, 4) list it in the README.', 60);
  g.add(S(200));
  g.end({ total_tokens: 18744, input_tokens: 17302, output_tokens: 1442, cached: 11264, input: 6038, duration_ms: 31890 });
  save('gemini-architect.jsonl', g.out);
}

{ // reviewer of the implementer
  const g = gemini();
  g.init(); g.add(S(500));
  g.say("I'll review the slugify implementation and its tests against the task."); g.add(S(200));
  const a = g.use('read_file', { file_path: '{{CWD}}/src/text.js' });
  const b = g.use('read_file', { file_path: '{{CWD}}/test/text.test.js' });
  g.add(S(300)); g.result(a, ''); g.result(b, ''); g.add(S(450));
  const verdict = { verdict: 'approve', summary: 'slugify matches the task and the design; the tests cover plain words, accents, punctuation and the empty result.', issues: [{ severity: 'nit', file: 'test/text.test.js', line: testSlugLine, message: 'A test for non-string input (slugify(42)) would pin down the String() coercion.' }] };
  g.say(`The implementation follows the design: \`slugify\` normalizes to NFKD, strips the combining marks, lower-cases, and collapses every run of non-alphanumeric characters into one dash with the ends trimmed. It is exported, documented with an example, and the four new tests cover the cases the task names. One nit below.\n\n\`\`\`json\n${JSON.stringify(verdict, null, 2)}\n\`\`\``, 50);
  g.add(S(150));
  g.end({ total_tokens: 9921, input_tokens: 9507, output_tokens: 414, cached: 6144, input: 3363, duration_ms: 12044 });
  save('gemini-reviewer-implementer.jsonl', g.out);
}

// ------------------------------------------------------------------------------------------------ codex
function codex() {
  const out = [];
  let n = 0;
  const add = (...l) => out.push(...l);
  const item = (event, body) => add(J({ type: event, item: body }));
  const start = () => add(J({ type: 'thread.started', thread_id: '{{SESSION_ID}}' }), J({ type: 'turn.started' }));
  const think = (text) => item('item.completed', { id: `item_${n++}`, type: 'reasoning', text });
  const run = (command, output, ms, exit = 0) => {
    const id = `item_${n++}`;
    item('item.started', { id, type: 'command_execution', command, aggregated_output: '', exit_code: null, status: 'in_progress' });
    add(S(ms));
    item('item.completed', { id, type: 'command_execution', command, aggregated_output: output, exit_code: exit, status: 'completed' });
  };
  const say = (text) => item('item.completed', { id: `item_${n++}`, type: 'agent_message', text });
  const end = (usage) => add(J({ type: 'turn.completed', usage: { cache_write_input_tokens: 0, ...usage } }));
  const nextId = () => `item_${n++}`;
  return { out, add, item, start, think, run, say, end, nextId };
}

{ // reviewer of the architect
  const c = codex();
  c.start(); c.add(S(500));
  c.think("**Reviewing the architect's design**"); c.add(S(250));
  c.run("/bin/bash -lc 'cat ARCHITECTURE.md'", ARCH, 200); c.add(S(300));
  c.think('**Checking the plan against src/text.js**'); c.add(S(200));
  c.run(`/bin/bash -lc "rg -n 'export function' src/text.js"`, '4:export function capitalize(text) {\n10:export function normalizeWhitespace(text) {\n15:export function truncate(text, max) {\n', 200); c.add(S(350));
  c.think('**Weighing the non-Latin limitation**'); c.add(S(300));
  const verdict = { verdict: 'approve', summary: 'A small, dependency-free design that fits the existing module; the plan is concrete and testable.', issues: [{ severity: 'nit', file: 'ARCHITECTURE.md', line: ARCH.split('\n').findIndex((l) => l.startsWith('| `\'!!!\'`')) + 1, message: "The edge-case table could include input with leading and trailing dashes ('--a--' -> 'a')." }] };
  c.say(`The design fits the codebase: one more pure export in \`src/text.js\`, no dependency, tests in the existing \`node:test\` style. NFKD plus removal of U+0300 to U+036F is the standard accent-stripping approach, and the edge-case table gives the implementer concrete expectations. The non-Latin limitation is called out as a risk, which is the right call for this task.\n\n\`\`\`json\n${JSON.stringify(verdict, null, 2)}\n\`\`\``);
  c.add(S(100));
  c.end({ input_tokens: 14620, cached_input_tokens: 11776, output_tokens: 512, reasoning_output_tokens: 192 });
  save('codex-reviewer-architect.jsonl', c.out);
}

{ // reviewer of the implementer
  const c = codex();
  c.start(); c.add(S(450));
  c.think("**Inspecting the implementer's diff**"); c.add(S(200));
  c.run("/bin/bash -lc 'git diff -- src/text.js'", DIFF, 200); c.add(S(350));
  c.think('**Probing slugify with non-Latin input**'); c.add(S(250));
  c.run(`/bin/bash -lc "node -e \\"import('./src/text.js').then(({ slugify }) => console.log(JSON.stringify([slugify('Crème Brûlée'), slugify('Привет мир'), slugify('東京 2026')])))\\""`, probe, 450); c.add(S(350));
  c.think('**Deciding on severity**'); c.add(S(300));
  const verdict = { verdict: 'concern', summary: 'slugify is correct for Latin text and well tested, but silently drops non-Latin input.', issues: [{ severity: 'concern', file: 'src/text.js', line: slugLine, message: "Non-Latin input is silently dropped: slugify('Привет мир') returns '' and slugify('東京 2026') returns '2026'. Keep Unicode letters (/[^\\p{L}\\p{N}]+/gu), transliterate, or at least document the ASCII-only behaviour and test it." }] };
  c.say(`The change is focused and the tests pass for Latin text. One real problem: the \`[^a-z0-9]\` class on line ${slugLine} removes every letter without a Latin decomposition, so Cyrillic and CJK titles become empty or lose their words (${probe.trim()}). That can produce empty slugs in URLs. It is a decision for the team rather than a blocker.\n\n\`\`\`json\n${JSON.stringify(verdict, null, 2)}\n\`\`\``);
  c.add(S(100));
  c.end({ input_tokens: 16384, cached_input_tokens: 12800, output_tokens: 604, reasoning_output_tokens: 256 });
  save('codex-reviewer-implementer.jsonl', c.out);
}

{ // verifier
  const c = codex();
  c.start(); c.add(S(450));
  c.think('**Planning the verification**'); c.add(S(200));
  const todoId = c.nextId();
  const T = ['Read the change to src/text.js and its tests', 'Run the test suite', 'Try slugify on real inputs', 'Check that the README lists the new helper'];
  const todo = (event, done) => c.item(event, { id: todoId, type: 'todo_list', items: T.map((text, i) => ({ text, completed: i < done })) });
  todo('item.started', 0); c.add(S(250));
  c.run(`/bin/bash -lc "sed -n '${sedRange}p' src/text.js"`, sedOut, 200); c.add(S(250));
  todo('item.updated', 1); c.add(S(200));
  c.run("/bin/bash -lc 'npm test'", NPM_TEST, 1000); c.add(S(250));
  todo('item.updated', 2); c.add(S(200));
  c.run(`/bin/bash -lc "node -e \\"import('./src/text.js').then(({ slugify }) => { console.log(slugify('Crème Brûlée: 10 Recipes!')); console.log(slugify('  Hello,   World  ')); })\\""`, tryIt, 400); c.add(S(250));
  todo('item.updated', 3); c.add(S(200));
  c.run(`/bin/bash -lc "grep -n slugify README.md || echo 'README.md: no mention of slugify'"`, 'README.md: no mention of slugify\n', 200); c.add(S(300));
  c.think('**Documenting slugify in the README**'); c.add(S(350));
  c.add(W('README.md', fin.readme));
  c.item('item.completed', { id: c.nextId(), type: 'file_change', changes: [{ path: '{{CWD}}/README.md', kind: 'update' }], status: 'completed' }); c.add(S(200));
  todo('item.completed', 4); c.add(S(250));
  c.say("Verified the slugify change.\n\n- Read the diff: `slugify` in `src/text.js` NFKD-normalizes, drops combining marks, lower-cases and joins alphanumeric runs with dashes; it is exported and has 4 new tests.\n- `npm test`: 9 tests in 4 suites, all pass.\n- Tried it by hand: `'Crème Brûlée: 10 Recipes!'` -> `creme-brulee-10-recipes`, `'  Hello,   World  '` -> `hello-world`.\n- Fixed one small gap: the README did not list `slugify`; added it to the example and the helper list, with a note that it is ASCII-only.\n\nNothing failed. Open point from the review: non-Latin text is dropped (ASCII-only by design).");
  c.add(S(100));
  c.end({ input_tokens: 31744, cached_input_tokens: 25600, output_tokens: 1096, reasoning_output_tokens: 384 });
  save('codex-verifier.jsonl', c.out);
}

// ------------------------------------------------------------------------------------------------ claude
{
  const out = [];
  const add = (...l) => out.push(...l);
  const common = { parent_tool_use_id: null, session_id: '{{SESSION_ID}}', uuid: '{{UUID}}' };
  let msgN = 0, toolN = 0, cacheRead = 14210, turns = 0;
  const message = () => { turns++; cacheRead += 1800; return anthropicId('msg', `implementer-message-${msgN++}`); };
  const block = (id, content, out_tokens = 1) => add(J({ type: 'assistant', message: { id, type: 'message', role: 'assistant', model: '{{MODEL}}', content: [content], stop_reason: null, stop_sequence: null, usage: { input_tokens: 6, cache_creation_input_tokens: 920, cache_read_input_tokens: cacheRead, output_tokens: out_tokens, service_tier: 'standard' }, context_management: null }, ...common, timestamp: TS }));
  const tool = (msg, name, input) => { const id = anthropicId('toolu', `implementer-tool-${toolN++}`); block(msg, { type: 'tool_use', id, name, input }, 40); return id; };
  const text = (msg, t) => block(msg, { type: 'text', text: t }, 60);
  const result = (id, content, extra) => add(J({ type: 'user', message: { role: 'user', content: [{ tool_use_id: id, type: 'tool_result', content, is_error: false }] }, ...common, timestamp: TS, ...(extra ? { tool_use_result: extra } : {}) }));
  const P = '{{CWD}}';
  const readResult = (path, content) => ({ type: 'text', file: { filePath: `${P}/${path}`, content, numLines: content.replace(/\n$/, '').split('\n').length, startLine: 1, totalLines: content.replace(/\n$/, '').split('\n').length } });
  const T = [
    ['Read ARCHITECTURE.md and the current helpers', 'Reading ARCHITECTURE.md and the current helpers'],
    ['Implement slugify() in src/text.js', 'Implementing slugify() in src/text.js'],
    ['Import slugify in test/text.test.js', 'Importing slugify in test/text.test.js'],
    ['Add slugify tests: words, accents, punctuation, empty result', 'Adding slugify tests'],
    ['Run npm test and fix any failure', 'Running npm test'],
  ];
  let oldTodos = [];
  const todos = (done) => {
    const newTodos = T.map(([content, activeForm], i) => ({ content, status: i < done ? 'completed' : i === done ? 'in_progress' : 'pending', activeForm }));
    const id = tool(message(), 'TodoWrite', { todos: newTodos });
    add(S(120));
    result(id, 'Todos have been modified successfully. Ensure that you continue to use the todo list to track your progress. Please proceed with the current tasks if applicable', { oldTodos, newTodos });
    oldTodos = newTodos;
  };

  add(J({ type: 'system', subtype: 'init', cwd: P, session_id: '{{SESSION_ID}}', tools: ['Task', 'Bash', 'Edit', 'Glob', 'Grep', 'NotebookEdit', 'Read', 'TodoWrite', 'WebFetch', 'WebSearch', 'Write'], mcp_servers: [], model: '{{MODEL}}', permissionMode: 'bypassPermissions', slash_commands: ['compact', 'context', 'cost', 'init', 'review', 'security-review'], apiKeySource: 'none', claude_code_version: '2.1.329', output_style: 'default', agents: ['claude', 'Explore', 'general-purpose', 'Plan'], skills: [], plugins: [], uuid: '{{UUID}}' }));
  add(S(700));
  let m = message();
  text(m, "I'll start by reading the architect's design and the code it refers to.");
  add(S(250));
  let id = tool(m, 'Read', { file_path: `${P}/ARCHITECTURE.md` }); add(S(200));
  result(id, catN(ARCH), readResult('ARCHITECTURE.md', ARCH)); add(S(400));
  todos(0); add(S(300));
  m = message();
  const r1 = tool(m, 'Read', { file_path: `${P}/src/text.js` });
  const r2 = tool(m, 'Read', { file_path: `${P}/test/text.test.js` }); add(S(250));
  result(r1, catN(orig.text), readResult('src/text.js', orig.text));
  result(r2, catN(orig.test), readResult('test/text.test.js', orig.test)); add(S(450));
  todos(1); add(S(300));
  m = message();
  text(m, 'The design is clear. Adding `slugify` after `truncate`, following the pipeline in ARCHITECTURE.md.'); add(S(300));
  const oldText = "  return `${text.slice(0, Math.max(0, max - 1))}…`;\n}\n";
  const newText = oldText + fin.text.slice(orig.text.length);
  id = tool(m, 'Edit', { file_path: `${P}/src/text.js`, old_string: oldText, new_string: newText, replace_all: false }); add(S(350));
  add(W('src/text.js', fin.text));
  const startLine = orig.text.replace(/\n$/, '').split('\n').length - 1; // the edit's first line
  result(id, `The file ${P}/src/text.js has been updated. Here's the result of running \`cat -n\` on a snippet of the edited file:\n${catN(finLines.slice(startLine - 1).join('\n'), startLine)}`, { filePath: `${P}/src/text.js`, oldString: oldText, newString: newText, userModified: false, replaceAll: false });
  add(S(350));
  todos(2); add(S(250));
  m = message();
  const oldImport = "import { capitalize, normalizeWhitespace, truncate } from '../src/text.js';";
  const newImport = "import { capitalize, normalizeWhitespace, slugify, truncate } from '../src/text.js';";
  id = tool(m, 'Edit', { file_path: `${P}/test/text.test.js`, old_string: oldImport, new_string: newImport, replace_all: false }); add(S(250));
  const midTest = orig.test.replace(oldImport, newImport);
  add(W('test/text.test.js', midTest));
  result(id, `The file ${P}/test/text.test.js has been updated. Here's the result of running \`cat -n\` on a snippet of the edited file:\n${catN(midTest.split('\n').slice(0, 5).join('\n'))}`, { filePath: `${P}/test/text.test.js`, oldString: oldImport, newString: newImport, userModified: false, replaceAll: false });
  add(S(300));
  todos(3); add(S(250));
  m = message();
  const oldTail = "    assert.equal(truncate('a long sentence', 6), 'a lon…');\n  });\n});\n";
  const newTail = oldTail + fin.test.slice(orig.test.length + (newImport.length - oldImport.length));
  id = tool(m, 'Edit', { file_path: `${P}/test/text.test.js`, old_string: oldTail, new_string: newTail, replace_all: false }); add(S(400));
  add(W('test/text.test.js', fin.test));
  const tl = fin.test.replace(/\n$/, '').split('\n');
  const tailLine = tl.findIndex((l) => l === oldTail.split('\n')[0]) + 1;
  result(id, `The file ${P}/test/text.test.js has been updated. Here's the result of running \`cat -n\` on a snippet of the edited file:\n${catN(tl.slice(tailLine - 1).join('\n'), tailLine)}`, { filePath: `${P}/test/text.test.js`, oldString: oldTail, newString: newTail, userModified: false, replaceAll: false });
  add(S(300));
  todos(4); add(S(250));
  m = message();
  id = tool(m, 'Bash', { command: 'npm test', description: 'Run the test suite' }); add(S(1100));
  result(id, NPM_TEST.trimEnd(), { stdout: NPM_TEST.trimEnd(), stderr: '', interrupted: false, isImage: false });
  add(S(300));
  todos(5); add(S(350));
  const summary = "Added `slugify(text)` to `src/text.js` and covered it with tests.\n\n- `src/text.js`: `slugify` NFKD-normalizes, strips combining marks (accents), lower-cases, replaces every run of non-alphanumeric characters with one dash and trims dashes at both ends. Exported, with a doc comment and an example.\n- `test/text.test.js`: imports `slugify`; 4 new tests (words, accents, punctuation and repeated separators, empty result).\n- Verified with `npm test`: 9 tests in 4 suites pass.\n\nAs the design notes, non-Latin scripts have no ASCII form and are dropped.";
  m = message();
  text(m, summary); add(S(150));
  add(J({ type: 'result', subtype: 'success', is_error: false, duration_ms: 52871, duration_api_ms: 47306, num_turns: turns, result: summary, stop_reason: 'end_turn', session_id: '{{SESSION_ID}}', total_cost_usd: 0.31842, usage: { input_tokens: 94, cache_creation_input_tokens: 11040, cache_read_input_tokens: cacheRead * 6, output_tokens: 2388, server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 }, service_tier: 'standard' }, modelUsage: { '{{MODEL}}': { inputTokens: 94, outputTokens: 2388, cacheReadInputTokens: cacheRead * 6, cacheCreationInputTokens: 11040, webSearchRequests: 0, costUSD: 0.31842, contextWindow: 1000000, maxOutputTokens: 128000 } }, permission_denials: [], terminal_reason: 'completed', uuid: '{{UUID}}' }));
  save('claude-implementer.jsonl', out);
}
