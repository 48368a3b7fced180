/** Standard 5-field cron schedules (minute hour day-of-month month day-of-week), in UTC, plus @hourly & co. */

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const NAMES: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};

/** A parsed schedule: the allowed values of each field. */
export interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Day-of-month and day-of-week both restricted: either may match (cron's rule). */
  dayOr: boolean;
}

function field(text: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`invalid step in "${part}"`);
    let lo: number;
    let hi: number;
    if (range === "*" || range === "?") [lo, hi] = [min, max];
    else {
      const [a, b] = range.split("-");
      const value = (s: string) => (s.toLowerCase() in NAMES ? NAMES[s.toLowerCase()] : Number(s));
      lo = value(a);
      hi = b === undefined ? (stepText === undefined ? lo : max) : value(b);
    }
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < min || hi > max || lo > hi) {
      throw new Error(`value out of range in "${part}"`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parse a schedule; throws with a reason when it is not valid. */
export function parseCron(schedule: string): Cron {
  const text = MACROS[schedule.trim()] ?? schedule.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new Error(`expected 5 fields, found ${parts.length}`);
  const weekdays = field(parts[4], 0, 7);
  if (weekdays.has(7)) weekdays.add(0);
  return {
    minutes: field(parts[0], 0, 59),
    hours: field(parts[1], 0, 23),
    days: field(parts[2], 1, 31),
    months: field(parts[3], 1, 12),
    weekdays,
    dayOr: parts[2] !== "*" && parts[2] !== "?" && parts[4] !== "*" && parts[4] !== "?",
  };
}

function matches(cron: Cron, d: Date): boolean {
  if (!cron.minutes.has(d.getUTCMinutes()) || !cron.hours.has(d.getUTCHours())) return false;
  if (!cron.months.has(d.getUTCMonth() + 1)) return false;
  const dom = cron.days.has(d.getUTCDate());
  const dow = cron.weekdays.has(d.getUTCDay());
  return cron.dayOr ? dom || dow : dom && dow;
}

/** The first scheduled minute strictly after `after` (searches up to ~4 years). */
export function nextAfter(cron: Cron, after: Date): Date | undefined {
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  for (let i = 0; i < 60 * 24 * 366 * 4; i++) {
    t.setUTCMinutes(t.getUTCMinutes() + 1);
    if (!cron.months.has(t.getUTCMonth() + 1)) {
      // Jump to just before the first minute of next month.
      t.setUTCDate(1);
      t.setUTCMonth(t.getUTCMonth() + 1);
      t.setUTCHours(0, 0, 0, 0);
      t.setTime(t.getTime() - 60_000);
      continue;
    }
    if (matches(cron, t)) return new Date(t.getTime());
  }
  return undefined;
}

/** The latest scheduled minute in (after, now], if any. */
export function lastBetween(cron: Cron, after: Date, now: Date): Date | undefined {
  let last: Date | undefined;
  let t: Date | undefined = nextAfter(cron, after);
  // Bound the walk: a schedule missed a thousand times only needs its latest run.
  for (let i = 0; t && t.getTime() <= now.getTime() && i < 100_000; i++) {
    last = t;
    t = nextAfter(cron, t);
  }
  return last;
}
