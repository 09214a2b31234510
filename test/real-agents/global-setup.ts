/** Fail fast, with the fix, when the CLIs are not installed (vitest was started without the run script). */
import { installDir, isInstalled } from './support/install.js';

export default function setup(): void {
  if (!isInstalled()) {
    throw new Error(
      `The pinned agent CLIs are not installed in ${installDir()}. ` +
        `Run \`ORCHESTRATOR_REAL_AGENTS=1 npm run test:real-agents\`, which installs them (about 900 MB, once).`,
    );
  }
}
