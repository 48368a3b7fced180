/** Cron schedule syntax as the CronJob controller's parser (robfig/cron) accepts it. */
import type { FieldError } from "../../registry/types.ts";
import { invalid, required } from "./errors.ts";

const DESCRIPTORS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
/** min, max and names of the five fields. */
const FIELDS: [number, number, string[]][] = [
  [0, 59, []],
  [0, 23, []],
  [1, 31, []],
  [1, 12, MONTHS],
  [0, 7, DAYS],
];

function value(text: string, min: number, names: string[]): number {
  const named = names.indexOf(text.toLowerCase());
  if (named >= 0) return named + min;
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

function fieldOk(text: string, [min, max, names]: [number, number, string[]]): boolean {
  return text.split(",").every((part) => {
    const [range, step] = part.split("/");
    if (step !== undefined && !/^\d+$/.test(step)) return false;
    if (range === "*" || range === "?") return true;
    const [lo, hi] = range.split("-");
    const a = value(lo, min, names);
    const b = hi === undefined ? a : value(hi, min, names);
    return a >= min && b <= max && a <= b;
  });
}

/** Errors of a CronJob schedule ("*\/5 * * * *", "@hourly", "@every 1h30m"). */
export function validateSchedule(schedule: unknown, field: string): FieldError[] {
  if (typeof schedule !== "string" || schedule.trim() === "") return [required(field)];
  const s = schedule.trim();
  if (/^(CRON_)?TZ=/.test(s))
    return [invalid(field, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")];
  if (DESCRIPTORS.includes(s)) return [];
  if (s.startsWith("@every ")) {
    return /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s.slice(7).trim())
      ? []
      : [invalid(field, schedule, "unparseable duration")];
  }
  const parts = s.split(/\s+/);
  if (parts.length !== 5)
    return [
      invalid(field, schedule, `expected exactly 5 fields, found ${parts.length}: [${parts.join(" ")}]`),
    ];
  const bad = parts.findIndex((p, i) => !fieldOk(p, FIELDS[i]));
  return bad < 0 ? [] : [invalid(field, schedule, `failed to parse field ${bad + 1}: ${parts[bad]}`)];
}
