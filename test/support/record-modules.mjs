/**
 * `node --import ./test/support/record-modules.mjs …` writes to the file named by RECORD_MODULES every ES module the
 * process loads (their URLs, through a load hook) and, at exit, the built-in modules it loaded
 * (`process.moduleLoadList`): what a command costs to start is what it loads.
 */
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';

const file = process.env.RECORD_MODULES;
if (file) {
  const hooks = `
    import { appendFileSync } from 'node:fs';
    export async function load(url, context, next) {
      appendFileSync(${JSON.stringify(file)}, url + '\\n');
      return next(url, context);
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  process.on('exit', () => appendFileSync(file, `${process.moduleLoadList.join('\n')}\n`));
}
