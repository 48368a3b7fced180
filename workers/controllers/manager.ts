/** Singleton Durable Object that runs the scheduler and controllers. Placeholder until they land. */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";

export class ControllerManager extends DurableObject<Env> {}
