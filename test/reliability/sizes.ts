/** Full sizes by default; RELIABILITY_SIZE=small shrinks every test to seconds (CI). */
export const SMALL = process.env.RELIABILITY_SIZE === 'small';

export const SIZES = SMALL
  ? {
      fuzzRuns: 300,
      pipelineLines: 300,
      httpRequests: 400,
      chaosClients: 20,
      chaosSeconds: 8,
      soakWorkers: 10,
      soakSeconds: 12,
      killRuns: 3,
    }
  : {
      fuzzRuns: 3_000,
      pipelineLines: 3_000,
      httpRequests: 3_000,
      chaosClients: 100,
      chaosSeconds: 60,
      soakWorkers: 50,
      soakSeconds: 600,
      killRuns: 20,
    };

/** Results a person reads after the run (slopes, counts), printed with a [reliability] prefix. */
export function report(name: string, values: Record<string, unknown>): void {
  process.stdout.write(`[reliability] ${name}: ${JSON.stringify(values)}\n`);
}
