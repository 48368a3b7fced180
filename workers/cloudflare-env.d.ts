// Types `env` from "cloudflare:test" / "cloudflare:workers" as our Worker's Env.
import type { Env as WorkerEnv } from "./env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
  }
}
