/**
 * POST serviceaccounts/NAME/token (kube's TokenRequest REST,
 * pkg/registry/core/serviceaccount/storage/token.go): a signed, expiring
 * JWT for the ServiceAccount, optionally bound to a Pod, Secret or Node that
 * must exist (the token dies with it). A node may ask only for tokens bound
 * to a pod scheduled on itself (kube's NodeRestriction admitServiceAccount;
 * the node authorizer has already checked the pod-to-ServiceAccount edge).
 * kubectl 1.32+ sends the body as protobuf.
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError, errors } from "../../client/status.ts";
import { timestamp } from "../../client/time.ts";
import type { TokenRequest } from "../../client/types.ts";
import { bodyType, readBodyBytes, readJsonObject } from "../decode.ts";
import { decodeProtobuf } from "../protobuf.ts";
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";
import type { CustomSubresource, RegistryAccess, SubresourceRequest } from "../registry/types.ts";
import { boundClaims, type ObjectRef } from "./claims.ts";

/** kube's minimum: shorter tokens are refused (validation of TokenRequestSpec). */
const MIN_EXPIRATION_SECONDS = 600;
/** kube's default when the request names none. */
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;
const API_VERSION = "authentication.k8s.io/v1";
const NODE_PREFIX = "system:node:";

/** authentication/v1 TokenRequest protobuf field numbers (generated.proto). */
const tokenRequestProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "spec",
    {
      1: ["audiences", "strings"],
      3: [
        "boundObjectRef",
        { 1: ["kind", "string"], 2: ["apiVersion", "string"], 3: ["name", "string"], 4: ["uid", "string"] },
      ],
      4: ["expirationSeconds", "int"],
    },
  ],
};

async function readTokenRequest(request: Request): Promise<TokenRequest> {
  // JSON, or protobuf (accepted wherever JSON is; kubectl 1.32+ sends it).
  const type = bodyType(request, ["json"]);
  if (type === "protobuf")
    return decodeProtobuf(
      await readBodyBytes(request),
      tokenRequestProto,
      API_VERSION,
      "TokenRequest",
    ) as never;
  return (await readJsonObject(request)) as never;
}

function lookup(registry: RegistryAccess, resource: string) {
  const info = registry.lookup("", resource);
  if (!info) throw errors.internal(`${resource} are not registered`);
  return info;
}

function ref(object: KubeObject): ObjectRef {
  return { name: object.metadata?.name ?? "", uid: object.metadata?.uid ?? "" };
}

/** The objects the token is bound to, checked as kube checks them. */
async function bindTo(req: SubresourceRequest, body: TokenRequest) {
  const bound = body.spec?.boundObjectRef;
  if (!bound) return {};
  const kind = bound.kind ?? "";
  const name = bound.name ?? "";
  if (!["Pod", "Secret", "Node"].includes(kind) || (bound.apiVersion && bound.apiVersion !== "v1"))
    throw errors.badRequest(`cannot bind token to object of type ${bound.apiVersion ?? ""}, Kind=${kind}`);
  if (!name) throw errors.badRequest("boundObjectRef.name is required");
  const resource = kind === "Pod" ? "pods" : kind === "Secret" ? "secrets" : "nodes";
  const object = await req.registry.get(
    lookup(req.registry, resource),
    kind === "Node" ? undefined : req.namespace,
    name,
  );
  if (bound.uid && bound.uid !== object.metadata?.uid)
    throw errors.conflict(
      kind,
      name,
      `the UID in the bound object reference (${bound.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  const out: { pod?: ObjectRef; secret?: ObjectRef; node?: ObjectRef } = {};
  if (kind === "Pod") {
    const spec = (object.spec ?? {}) as { serviceAccountName?: string; nodeName?: string };
    if ((spec.serviceAccountName || "default") !== req.name)
      throw errors.badRequest(
        `cannot bind token for serviceaccount "${req.name}" to pod running with different serviceaccount name.`,
      );
    out.pod = ref(object);
    if (spec.nodeName) {
      const node = await req.registry
        .get(lookup(req.registry, "nodes"), undefined, spec.nodeName)
        .catch(() => undefined);
      if (node) out.node = ref(node);
    }
  } else if (kind === "Secret") out.secret = ref(object);
  else out.node = ref(object);
  return out;
}

/** NodeRestriction for tokens: a node gets only tokens bound, by uid, to a pod scheduled on itself. */
async function restrictNode(req: SubresourceRequest, body: TokenRequest): Promise<void> {
  if (!req.ctx.user.startsWith(NODE_PREFIX)) return;
  const node = req.ctx.user.slice(NODE_PREFIX.length);
  const bound = body.spec?.boundObjectRef;
  const refuse = (why: string) =>
    new ApiError(
      "Forbidden",
      `serviceaccounts "${req.name}" is forbidden: node "${node}" ${why} (NodeRestriction)`,
    );
  if (bound?.kind !== "Pod") throw refuse("requested token not bound to a pod");
  if (!bound.uid) throw refuse("requested token with a pod binding without a uid");
  const pod = await req.registry.get(lookup(req.registry, "pods"), req.namespace, bound.name ?? "");
  if ((pod.spec as { nodeName?: string } | undefined)?.nodeName !== node)
    throw refuse("requested token bound to a pod scheduled on a different node");
}

/** The serviceaccounts/token subresource. */
export const tokenSubresource: CustomSubresource = {
  verbs: ["create"],
  kind: "TokenRequest",
  group: "authentication.k8s.io",
  version: "v1",
  async handle(req) {
    const issuer = await req.services.tokens?.issuer();
    // As kube without --service-account-signing-key-file: the subresource is not there.
    if (!issuer)
      throw new ApiError(
        "NotFound",
        "ServiceAccount tokens are not enabled: the API server has no signing key (SERVICE_ACCOUNT_SIGNING_KEY)",
      );
    const body = await readTokenRequest(req.request);
    if ((body.kind && body.kind !== "TokenRequest") || (body.apiVersion && body.apiVersion !== API_VERSION))
      throw errors.badRequest(`the body must be a TokenRequest of ${API_VERSION}`);
    if (body.metadata?.name && body.metadata.name !== req.name)
      throw errors.badRequest("the name in the TokenRequest does not match the ServiceAccount's name");
    if (body.metadata?.namespace && body.metadata.namespace !== req.namespace)
      throw errors.badRequest("the namespace in the TokenRequest does not match the request's namespace");
    const seconds = body.spec?.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    const causes = [];
    if (!Number.isInteger(seconds) || seconds < MIN_EXPIRATION_SECONDS)
      causes.push({
        reason: "FieldValueInvalid",
        field: "spec.expirationSeconds",
        message: `Invalid value: ${JSON.stringify(seconds)}: may not specify a duration less than 10 minutes`,
      });
    else if (seconds > MAX_EXPIRATION_SECONDS)
      causes.push({
        reason: "FieldValueTooLong",
        field: "spec.expirationSeconds",
        message: `Invalid value: ${seconds}: may not specify a duration larger than 2^32 seconds`,
      });
    const audiences = body.spec?.audiences?.length ? body.spec.audiences : issuer.audiences;
    if (audiences.some((a) => typeof a !== "string" || a === ""))
      causes.push({
        reason: "FieldValueInvalid",
        field: "spec.audiences",
        message: "audiences must be non-empty strings",
      });
    if (causes.length) throw errors.invalid("TokenRequest", req.name, causes, "authentication.k8s.io");
    await restrictNode(req, body);
    const sa = await req.registry.get(lookup(req.registry, "serviceaccounts"), req.namespace, req.name);
    const bound = await bindTo(req, body);
    const now = req.ctx.now;
    const token = await issuer.sign(
      boundClaims({
        issuer: issuer.issuer,
        audiences,
        namespace: req.namespace ?? "",
        serviceAccount: ref(sa),
        ...bound,
        now,
        expirationSeconds: seconds,
        jti: crypto.randomUUID(),
      }),
    );
    const out: TokenRequest = {
      apiVersion: API_VERSION,
      kind: "TokenRequest",
      metadata: { name: req.name, namespace: req.namespace, creationTimestamp: timestamp(now) },
      spec: { ...body.spec, audiences, expirationSeconds: seconds },
      status: { token, expirationTimestamp: timestamp(new Date(now.getTime() + seconds * 1000)) },
    };
    return new Response(JSON.stringify(out), {
      status: 201,
      headers: { "Content-Type": "application/json" },
    });
  },
};
