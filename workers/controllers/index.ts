/**
 * Entry points of the controller manager: the cron resync and the fast-path
 * wake-up after a write. Placeholder until the controllers land.
 */
import type { WriteEvent } from "../apiserver/index.ts";
import type { Env } from "../env.ts";

/** Full resync of the scheduler and every controller (cron, once a minute). */
export async function resync(_env: Env, _ctx: ExecutionContext): Promise<void> {}

/** Wake the controllers that watch this resource (fast path, milliseconds after a write). */
export function wake(_env: Env, _ctx: ExecutionContext, _event: WriteEvent): void {}
