/** The store shard Durable Object (SQLite, etcd semantics). Placeholder until the store lands. */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../workers/env.ts";

export class StoreObject extends DurableObject<Env> {
  ping(): string {
    return "pong";
  }
}
