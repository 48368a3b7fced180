/** The built-in OCI registry (distribution API under /v2/, R2-backed). Placeholder until it lands. */
import type { Env } from "../env.ts";

export async function handleRegistry(
  _request: Request,
  _env: Env,
  _ctx: ExecutionContext,
): Promise<Response> {
  return Response.json(
    { errors: [{ code: "UNSUPPORTED", message: "registry not built yet" }] },
    { status: 501 },
  );
}
