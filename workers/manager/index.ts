/**
 * Entry points of the controller manager. Both go through the singleton
 * ControllerManager Durable Object, so exactly one instance of each
 * controller acts at a time:
 *  - resync(): the cron trigger (once a minute), a full pass of everything;
 *  - wake():   the API server's onWrite hook, milliseconds after a write.
 */

import type { ControllerManager } from "../../durable-objects/controller-manager/object.ts";
import type { WriteEvent } from "../apiserver/index.ts";
import type { Env } from "../env.ts";
import { WATCHED } from "./all.ts";

/** The singleton's name: there is exactly one controller manager. */
const MANAGER_NAME = "controller-manager";

/** The controller manager's stub. */
export function managerStub(env: Env): DurableObjectStub<ControllerManager> {
  return env.CONTROLLERS.get(
    env.CONTROLLERS.idFromName(MANAGER_NAME),
  ) as DurableObjectStub<ControllerManager>;
}

/** Full resync of the scheduler and every controller (cron, once a minute). */
export async function resync(env: Env, _ctx: ExecutionContext): Promise<void> {
  await managerStub(env).resync();
}

/** Wake the controllers that watch this resource (fast path). Cheap: one RPC, only for watched resources. */
export function wake(env: Env, ctx: ExecutionContext, event: WriteEvent): void {
  if (env.CONTROLLERS_FAST_PATH === "off") return;
  const id = `${event.group}/${event.resource}`;
  const tokens = event.type === "DELETED" ? [id, `${id}:DELETED`] : [id];
  if (!tokens.some((t) => WATCHED.has(t))) return;
  const poke = managerStub(env)
    .poke(tokens)
    .catch((error: unknown) =>
      console.warn(`controller wake-up for ${id} failed: ${(error as Error).message}`),
    );
  ctx.waitUntil(poke);
}
