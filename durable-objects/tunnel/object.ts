/** One Durable Object per node: the agent's outbound WebSocket. Placeholder until the node agent lands. */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../workers/env.ts";

export class TunnelObject extends DurableObject<Env> {}
