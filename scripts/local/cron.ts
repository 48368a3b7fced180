/**
 * A five-field cron matcher (minute hour day-of-month month day-of-week, in
 * UTC as Cloudflare evaluates them): `*`, lists, ranges and steps. Enough for
 * wrangler.toml's triggers; names (MON, JAN) and L/W/# are refused loudly.
 */

const FIELDS: [min: number, max: number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/** Whether the cron expression fires at the (UTC) minute of `at`. */
export function cronMatches(expression: string, at: Date): boolean {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`cron "${expression}": expected 5 fields`);
  const values = [
    at.getUTCMinutes(),
    at.getUTCHours(),
    at.getUTCDate(),
    at.getUTCMonth() + 1,
    at.getUTCDay(),
  ];
  const ok = parts.map((field, i) => fieldMatches(field, values[i], FIELDS[i], expression, i === 4));
  const [minute, hour, dom, month, dow] = ok;
  // As in Vixie cron: when both day fields are restricted, either may match.
  const day = parts[2] !== "*" && parts[4] !== "*" ? dom || dow : dom && dow;
  return minute && hour && month && day;
}

function fieldMatches(
  field: string,
  value: number,
  [min, max]: [number, number],
  expression: string,
  dayOfWeek: boolean,
): boolean {
  return field.split(",").some((item) => {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new Error(`cron "${expression}": unsupported field "${item}"`);
    const lo = m[1] === "*" ? min : Number(m[2]);
    const hi = m[1] === "*" ? max : m[3] !== undefined ? Number(m[3]) : m[4] ? max : lo;
    const step = m[4] ? Number(m[4]) : 1;
    if (lo < min || hi > max || lo > hi || step < 1)
      throw new Error(`cron "${expression}": "${item}" out of range`);
    for (let v = lo; v <= hi; v += step) {
      if (v === value || (dayOfWeek && v === 7 && value === 0)) return true;
    }
    return false;
  });
}

/** A running cron schedule. */
export interface CronLoop {
  readonly stopped: boolean;
  stop(): void;
}

/**
 * Call `fire(cron)` at the top of every minute for each expression matching
 * that minute, as Cloudflare's cron triggers do. Runs do not wait for each
 * other: a slow scheduled() never makes the next minute skip.
 */
export function startCronLoop(
  crons: string[],
  fire: (cron: string) => Promise<void>,
  now = Date.now,
): CronLoop {
  let timer: NodeJS.Timeout | undefined;
  const loop = {
    stopped: false,
    stop() {
      loop.stopped = true;
      clearTimeout(timer);
    },
  };
  const schedule = () => {
    timer = setTimeout(
      () => {
        if (loop.stopped) return;
        const minute = new Date(Math.round(now() / 60_000) * 60_000);
        schedule();
        for (const cron of crons.filter((c) => cronMatches(c, minute))) void fire(cron);
      },
      60_000 - (now() % 60_000),
    );
  };
  schedule();
  return loop;
}
