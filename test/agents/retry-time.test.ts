import { describe, expect, it } from 'vitest';
import { parseRetryAt } from '../../src/agents/retry-time.js';

// Clock times without a zone are local: build expectations with local-time constructors so the suite
// passes in any TZ.
const local = (month: number, day: number, hour: number, minute: number, year = 2026) =>
  new Date(year, month - 1, day, hour, minute).toISOString();
const at = (text: string, now: Date) => parseRetryAt(text, now);

describe('parseRetryAt', () => {
  const morning = new Date(2026, 10, 21, 8, 0); // Nov 21st 2026, 08:00 local

  it('reads a clock time later today', () => {
    expect(at("You've hit your usage limit. Upgrade to Pro or try again at 9:24 AM.", morning)).toBe(
      local(11, 21, 9, 24),
    );
    expect(at('try again at 3:28 PM.', morning)).toBe(local(11, 21, 15, 28));
    expect(at('retry at 15:00', morning)).toBe(local(11, 21, 15, 0));
  });

  it('wraps a clock time that has passed to the next day, across a month end', () => {
    expect(at('try again at 9:24 AM.', new Date(2026, 10, 21, 10, 0))).toBe(local(11, 22, 9, 24));
    expect(at('try again at 9:24 AM.', new Date(2026, 10, 21, 9, 27))).toBe(local(11, 22, 9, 24));
    expect(at('try again at 12:05 AM', new Date(2026, 10, 30, 23, 0))).toBe(local(12, 1, 0, 5));
    expect(at('try again at 12:30 PM', new Date(2026, 11, 31, 13, 0))).toBe(local(1, 1, 12, 30, 2027));
  });

  it('reads a time in the current minute as due now, not tomorrow (codex prints minutes only)', () => {
    const now = new Date(2026, 10, 21, 6, 19, 42);
    expect(at('try again at 6:19 AM.', now)).toBe(now.toISOString());
    expect(at('try again at 6:18 AM.', now)).toBe(now.toISOString());
    expect(at('try again at 6:20 AM.', now)).toBe(local(11, 21, 6, 20));
  });

  it('reads "resets 3pm (Zone)" in the named zone', () => {
    const now = new Date('2026-11-21T10:00:00Z');
    expect(at("You've hit your limit · resets 3pm (UTC)", now)).toBe('2026-11-21T15:00:00.000Z');
    expect(at("You've hit your limit · resets 3pm (Asia/Tokyo)", now)).toBe('2026-11-22T06:00:00.000Z');
    expect(at('resets 9am (Asia/Tokyo)', now)).toBe('2026-11-22T00:00:00.000Z');
  });

  it('reads a month, day, year and time', () => {
    expect(at("You've hit your usage limit ... try again at Aug 8th, 2027 12:30 PM", morning)).toBe(
      local(8, 8, 12, 30, 2027),
    );
    expect(at('try again at Nov 22nd, 2026 9:24 AM.', morning)).toBe(local(11, 22, 9, 24));
    expect(at('try again at December 1st, 2026 7 PM', morning)).toBe(local(12, 1, 19, 0));
  });

  it('reads a month and day without a year as the next such day', () => {
    expect(at("You've hit your usage limit. Try again Dec 18.", morning)).toBe(local(12, 18, 0, 0));
    expect(at("You've hit your usage limit. Try again Aug 18.", morning)).toBe(local(8, 18, 0, 0, 2027));
  });

  it('reads relative durations', () => {
    const now = new Date('2026-11-21T12:00:00Z');
    expect(at('try again in 3 days 6 hours 57 minutes.', now)).toBe('2026-11-24T18:57:00.000Z');
    expect(at('Quota exceeded. Please retry in 23.5s.', now)).toBe('2026-11-21T12:00:23.500Z');
    expect(at('Please retry in 23.517882787s', now)).toBe('2026-11-21T12:00:23.518Z');
    expect(at('retry in 1h, 30 min', now)).toBe('2026-11-21T13:30:00.000Z');
    expect(at('retrying after 500ms', now)).toBe('2026-11-21T12:00:00.500Z');
    expect(at('"retryDelay": "42s"', now)).toBe('2026-11-21T12:00:42.000Z');
    expect(at('try again in 2 weeks', now)).toBe('2026-12-05T12:00:00.000Z');
  });

  it('reads ISO instants and epoch seconds', () => {
    const now = new Date('2026-11-21T12:00:00Z');
    expect(at('rate limit rejected, resets at 2026-11-21T13:00:00.000Z', now)).toBe('2026-11-21T13:00:00.000Z');
    expect(at('until 2026-11-21T15:00:00+02:00', now)).toBe('2026-11-21T13:00:00.000Z');
    expect(at('Claude AI usage limit reached|1795266000', now)).toBe('2026-11-21T13:00:00.000Z');
    expect(at('{"resetsAt": 1795266000}', now)).toBe('2026-11-21T13:00:00.000Z');
  });

  it('names nothing when the text names no time', () => {
    const now = new Date('2026-11-21T12:00:00Z');
    for (const text of [
      '',
      'Please reduce the prompt length or the maximum tokens requested, or try again later.',
      'Attempt 1 failed with status 429. Retrying with backoff...',
      'retry 3 times',
      '2026-11-21T05:35:04.983615Z ERROR codex_api::endpoint::responses_websocket: failed to connect',
      'try again at 25:00',
      'try again at 13 PM',
      'try again at Foo 12th',
      'exceeded retry limit, last status: 429 Too Many Requests',
    ]) {
      expect(at(text, now), text).toBeUndefined();
    }
  });
});
