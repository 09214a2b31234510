/**
 * The one polling loop of the tests. No imports: any test or support module may use it, whatever else it loads.
 */

/**
 * Poll every `stepMs` until `probe` (sync or async) returns something truthy, and return that. A probe that
 * throws (a file read while another process writes it) is simply tried again. Fails after `timeoutMs` with
 * `what` (a string, or a function called then, for the state at the time) and the last error the probe threw.
 * A slow probe (one that starts `orchestrate status`, a node process) waits as long as it took before the next
 * try: polling never takes more than half of a core from the processes it waits for.
 */
export async function poll<T>(
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs: number,
  what: string | (() => string),
  stepMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const started = Date.now();
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = ` (last error: ${error instanceof Error ? error.message : String(error)})`;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for: ${typeof what === 'string' ? what : what()}${lastError}`,
      );
    await new Promise((resolve) => setTimeout(resolve, Math.max(stepMs, Date.now() - started)));
  }
}
