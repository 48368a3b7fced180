/**
 * Builds the API server for a Worker invocation from its Env (the real
 * Durable Object store, the clock, tokens). Placeholder until the API server lands.
 */
import type { Env } from "../env.ts";

/** A write the API server committed; used to wake controllers within milliseconds. */
export interface WriteEvent {
  group: string;
  resource: string;
  namespace?: string;
  name: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
}

export interface ApiServerHooks {
  /** Called (not awaited by the request) after each committed write. */
  onWrite?: (event: WriteEvent) => void;
}

/** The API server as a fetch handler. */
export function apiServerForEnv(_env: Env, _ctx: ExecutionContext | undefined, _hooks: ApiServerHooks = {}) {
  return {
    fetch: async (_request: Request): Promise<Response> =>
      new Response("edgeplane: apiserver not built yet\n", { status: 503 }),
  };
}
