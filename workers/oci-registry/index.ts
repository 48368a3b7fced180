/**
 * The built-in OCI registry: the distribution API under /v2/, content in the
 * REGISTRY R2 bucket, authenticated with the API server's tokens (pull for
 * any authenticated identity, push for cluster admins). Routed here from
 * workers/index.ts for every /v2 path.
 */
import type { Env } from "../env.ts";
import { type Access, authorizeRegistry } from "./auth.ts";
import { deleteBlob, getBlob } from "./blobs.ts";
import { RegistryError } from "./errors.ts";
import { deleteManifest, getManifest, listCatalog, listTags, putManifest } from "./manifests.ts";
import { parseRoute } from "./names.ts";
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from "./uploads.ts";

const API_VERSION = { "Docker-Distribution-API-Version": "registry/2.0" };

/** Serve one registry request; every failure becomes an OCI error response. */
export async function handleRegistry(request: Request, env: Env, _ctx: ExecutionContext): Promise<Response> {
  let response: Response;
  try {
    const access: Access = request.method === "GET" || request.method === "HEAD" ? "pull" : "push";
    await authorizeRegistry(request, env, access);
    response = await dispatch(request, env.REGISTRY);
  } catch (err) {
    response = toRegistryError(err).toResponse(request.method);
  }
  const headers = new Headers(response.headers);
  for (const [k, v] of Object.entries(API_VERSION)) headers.set(k, v);
  return new Response(response.body, { status: response.status, headers });
}

/** RegistryErrors as they are; anything else is logged (message only) and answered as a 500. */
function toRegistryError(err: unknown): RegistryError {
  if (err instanceof RegistryError) return err;
  console.error("registry: internal error:", err instanceof Error ? err.message : String(err));
  return new RegistryError("UNSUPPORTED", "internal registry error", null, 500);
}

/** Route to the endpoint; methods an endpoint lacks are UNSUPPORTED (405). */
async function dispatch(request: Request, bucket: R2Bucket): Promise<Response> {
  const route = parseRoute(new URL(request.url).pathname);
  if (!route) throw new RegistryError("NAME_UNKNOWN", "no such registry endpoint", null, 404);
  const m = request.method;
  switch (route.kind) {
    case "base":
      if (m === "GET" || m === "HEAD") return Response.json({});
      break;
    case "catalog":
      if (m === "GET") return listCatalog(bucket, request);
      break;
    case "tags":
      if (m === "GET") return listTags(bucket, request, route.name);
      break;
    case "manifest":
      if (m === "GET" || m === "HEAD") return getManifest(bucket, request, route.name, route.reference);
      if (m === "PUT") return putManifest(bucket, request, route.name, route.reference);
      if (m === "DELETE") return deleteManifest(bucket, route.name, route.reference);
      break;
    case "blob":
      if (m === "GET" || m === "HEAD") return getBlob(bucket, request, route.digest);
      if (m === "DELETE") deleteBlob();
      break;
    case "uploads":
      if (m === "POST") return startUpload(bucket, request, route.name);
      break;
    case "upload":
      if (m === "GET") return uploadStatus(bucket, route.name, route.uuid);
      if (m === "PATCH") return patchUpload(bucket, request, route.name, route.uuid);
      if (m === "PUT") return finishUpload(bucket, request, route.name, route.uuid);
      if (m === "DELETE") return cancelUpload(bucket, route.name, route.uuid);
      break;
  }
  throw new RegistryError("UNSUPPORTED", `${m} is not supported here`, null, 405);
}
