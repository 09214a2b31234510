/**
 * When an agent says it may be retried: "try again at 9:24 AM", "try again at Aug 8th, 2026 12:30 PM",
 * "try again in 3 days 6 hours", "Please retry in 23.5s", "resets at <ISO>", "usage limit reached|<epoch>",
 * "resets 3pm (Europe/Berlin)". Pure: the caller passes `now`.
 *
 * Every format needs a retry word in front of it (try again, retry, resets, until), so a log timestamp or a
 * line number elsewhere in a message is never read as a retry time. Clock times without a zone are read in
 * this process's local zone: the CLI ran on this machine and formatted them in its local time (codex does).
 */

const RETRY_WORDS = String.raw`(?:try(?:ing)? again|retry(?:ing)?|resets?|reset|until|available again)`;

/** By first letter; milliseconds and minutes are told apart in unitMs. */
const UNIT_MS: Record<string, number> = { s: 1_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const UNIT = String.raw`(?:milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)`;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** The instant a retry hint in `text` names, as ISO 8601 (UTC), or undefined when it names none. */
export function parseRetryAt(text: string, now: Date): string | undefined {
  const date =
    isoInstant(text) ?? epochSeconds(text) ?? relative(text, now) ?? monthDate(text, now) ?? clockTime(text, now);
  return date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}

/** "resets at 2026-11-21T10:00:00.000Z" */
function isoInstant(text: string): Date | undefined {
  const match = new RegExp(
    String.raw`${RETRY_WORDS}\s*(?:at|on)?:?\s*` +
      String.raw`(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))`,
    'i',
  ).exec(text);
  return match?.[1] ? new Date(match[1]) : undefined;
}

/** "Claude AI usage limit reached|1774447200", "resetsAt": 1774447200 (seconds, or milliseconds) */
function epochSeconds(text: string): Date | undefined {
  const match = /limit reached\|(\d{10}|\d{13})\b/i.exec(text) ?? /resets_?at"?\s*[:=]\s*(\d{10}|\d{13})\b/i.exec(text);
  if (!match?.[1]) return undefined;
  const value = Number(match[1]);
  return new Date(match[1].length === 13 ? value : value * 1000);
}

/** "try again in 3 days 6 hours 57 minutes", "Please retry in 23.5s", "retryDelay": "23s" */
function relative(text: string, now: Date): Date | undefined {
  const amount = String.raw`\d+(?:\.\d+)?\s*${UNIT}\b`;
  const match =
    new RegExp(String.raw`${RETRY_WORDS}\s+(?:in|after)\s+((?:${amount}[\s,]*(?:and\s+)?)+)`, 'i').exec(text) ??
    /"?retryDelay"?\s*[:=]\s*"?(\d+(?:\.\d+)?s)\b/i.exec(text);
  if (!match?.[1]) return undefined;
  let ms = 0;
  for (const part of match[1].matchAll(new RegExp(String.raw`(\d+(?:\.\d+)?)\s*(${UNIT})\b`, 'gi'))) {
    ms += Number(part[1]) * unitMs(part[2] ?? '');
  }
  return ms > 0 ? new Date(now.getTime() + Math.ceil(ms)) : undefined;
}

function unitMs(unit: string): number {
  const u = unit.toLowerCase();
  if (u === 'ms' || u.startsWith('milli')) return 1;
  if (u === 'm' || u.startsWith('min')) return 60_000;
  return UNIT_MS[u.charAt(0)] ?? 1_000;
}

/** "try again at Aug 8th, 2026 12:30 PM", "Try again Aug 18." (no year: the next such day) */
function monthDate(text: string, now: Date): Date | undefined {
  const pattern = new RegExp(
    String.raw`${RETRY_WORDS}\s+(?:at\s+|on\s+)?([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b` + // month and day
      String.raw`(?:,?\s*(\d{4}))?` + // year
      String.raw`(?:,?\s*(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?)?`, // time of day
    'gi',
  );
  for (const match of text.matchAll(pattern)) {
    const month = MONTHS.indexOf((match[1] ?? '').slice(0, 3).toLowerCase());
    const day = Number(match[2]);
    if (month < 0 || day < 1 || day > 31) continue;
    const hasTime = match[4] !== undefined && (match[5] !== undefined || match[6] !== undefined);
    const hour = hasTime ? to24h(Number(match[4]), match[6]) : 0;
    const minute = hasTime ? Number(match[5] ?? 0) : 0;
    if (hour === undefined || minute > 59) continue;
    const year = match[3] ? Number(match[3]) : now.getFullYear();
    let date = new Date(year, month, day, hour, minute);
    if (!match[3] && date.getTime() <= now.getTime()) date = new Date(year + 1, month, day, hour, minute);
    return date;
  }
  return undefined;
}

const MINUTE_GRACE_MS = 2 * 60_000;

/** "try again at 9:24 AM", "resets 3pm (Europe/Berlin)", "retry at 15:00": the next such time after now */
function clockTime(text: string, now: Date): Date | undefined {
  const pattern = new RegExp(
    String.raw`${RETRY_WORDS}\s+(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?(?:\s*\(([^)]+)\))?`,
    'gi',
  );
  for (const match of text.matchAll(pattern)) {
    if (match[2] === undefined && match[3] === undefined) continue; // "retry 3 times" is not a time
    const hour = to24h(Number(match[1]), match[3]);
    const minute = Number(match[2] ?? 0);
    if (hour === undefined || minute > 59) continue;
    const zone = validZone(match[4]?.trim());
    const today = wallOf(now, zone);
    let date = instantOf({ ...today, hour, minute }, zone);
    // The agent prints minutes only: a time within the current minute (or a minute ago, for clock skew) is
    // due now, not tomorrow.
    if (date.getTime() <= now.getTime() - MINUTE_GRACE_MS)
      date = instantOf({ ...today, day: today.day + 1, hour, minute }, zone);
    else if (date.getTime() < now.getTime()) date = now;
    return date;
  }
  return undefined;
}

function to24h(hour: number, meridiem: string | undefined): number | undefined {
  if (!meridiem) return hour <= 23 ? hour : undefined;
  if (hour < 1 || hour > 12) return undefined;
  const pm = meridiem.toLowerCase().startsWith('p');
  return (hour % 12) + (pm ? 12 : 0);
}

// Wall-clock arithmetic in the local zone, or in a named IANA zone when the agent names one.

interface Wall {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
}

function validZone(zone: string | undefined): string | undefined {
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}

function zoneOffsetMs(date: Date, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(date);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'), get('second'));
  return asUtc - Math.floor(date.getTime() / 1000) * 1000;
}

function wallOf(date: Date, zone: string | undefined): Wall {
  if (!zone) {
    return {
      year: date.getFullYear(),
      month: date.getMonth() + 1,
      day: date.getDate(),
      hour: date.getHours(),
      minute: date.getMinutes(),
    };
  }
  const shifted = new Date(date.getTime() + zoneOffsetMs(date, zone));
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    minute: shifted.getUTCMinutes(),
  };
}

function instantOf(wall: Wall, zone: string | undefined): Date {
  if (!zone) return new Date(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  const guess = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  const offset = zoneOffsetMs(new Date(guess), zone);
  // Across a DST change the offset at the guess differs from the offset at the answer: correct once.
  const corrected = zoneOffsetMs(new Date(guess - offset), zone);
  return new Date(guess - corrected);
}
