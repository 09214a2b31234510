/**
 * Whether a person's answer fits a blocker: the same judgement for the API (POST .../blockers/{id}) and for
 * `orchestrate resolve` on a session nobody runs. Pure.
 */
import type { BlockerChoice, BlockerRecord } from '../domain/supervisor/context.js';

export type AnswerCheck =
  | { ok: true; blocker: BlockerRecord }
  | { ok: false; status: 404 | 409; message: string; options?: BlockerChoice[] };

export function checkAnswer(
  sessionId: string,
  blockers: readonly BlockerRecord[],
  blockerId: string,
  choice: string,
): AnswerCheck {
  const blocker = blockers.find((b) => b.id === blockerId);
  if (!blocker) {
    const open = blockers.filter((b) => b.open).map((b) => b.id);
    return {
      ok: false,
      status: 404,
      message:
        `session ${sessionId} has no blocker ${blockerId}` +
        `${open.length ? ` (open: ${open.join(', ')})` : ' (none is open)'}`,
    };
  }
  if (!blocker.open) {
    const by = blocker.resolution
      ? ` (${blocker.resolution.choice}${blocker.resolution.by ? ` by ${blocker.resolution.by}` : ''})`
      : '';
    return { ok: false, status: 409, message: `blocker ${blockerId} was already answered${by}` };
  }
  if (!(blocker.options as string[]).includes(choice)) {
    const accepted = blocker.options.length
      ? `it accepts ${blocker.options.join(', ')}`
      : 'it accepts no answer (the session was stopped)';
    return {
      ok: false,
      status: 409,
      message: `blocker ${blockerId} does not accept "${choice}": ${accepted}`,
      options: blocker.options,
    };
  }
  return { ok: true, blocker };
}
