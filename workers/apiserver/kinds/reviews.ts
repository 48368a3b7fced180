/**
 * Access reviews (authorization.k8s.io/v1 SelfSubjectAccessReview,
 * SelfSubjectRulesReview, SubjectAccessReview) and authentication.k8s.io/v1
 * SelfSubjectReview: create-only kinds answered from the request and the
 * authorizer, never stored (kube's pkg/registry/authorization/*). Each is a
 * strategy for validation plus a storage override whose create computes the
 * status; `kubectl auth can-i [--list]` and `auth whoami` send them.
 */
import type { PolicyRule } from "kubernetes-types/rbac/v1.js";
import type { KubeObject } from "../../client/kube.ts";
import { ApiError, errors } from "../../client/status.ts";
import type { Attributes } from "../rbac/evaluate.ts";
import type { CreateRequest, FieldError, StorageOverride, Strategy } from "../registry/types.ts";
import type { UserInfo } from "../tokens.ts";
import { obj } from "./util.ts";
import { invalid, required } from "./validation/errors.ts";

type Review = KubeObject & { spec?: Record<string, unknown> };

/** Exactly one of resourceAttributes and nonResourceAttributes (kube's ValidateSelfSubjectAccessReviewSpec). */
function validateAttributes(spec: Record<string, unknown>): FieldError[] {
  const resource = spec.resourceAttributes;
  const nonResource = spec.nonResourceAttributes;
  if (!resource && !nonResource)
    return [
      required(
        "spec.resourceAttributes",
        "exactly one of nonResourceAttributes or resourceAttributes must be specified",
      ),
    ];
  if (resource && nonResource)
    return [
      invalid(
        "spec.nonResourceAttributes",
        nonResource,
        "cannot be specified in combination with resourceAttributes",
      ),
    ];
  return [];
}

/** The review's question as authorizer attributes. */
function attributesOf(spec: Record<string, unknown>, namespace: string | undefined): Attributes {
  const r = spec.resourceAttributes as Record<string, string> | undefined;
  if (r)
    return {
      verb: r.verb ?? "",
      apiGroup: r.group ?? "",
      resource: r.resource ?? "",
      subresource: r.subresource || undefined,
      name: r.name || undefined,
      namespace: namespace ?? (r.namespace || undefined),
    };
  const n = obj(spec.nonResourceAttributes) as Record<string, string>;
  return { verb: n.verb ?? "", path: n.path ?? "" };
}

function reject(request: CreateRequest, errs: FieldError[]): void {
  if (errs.length) throw errors.invalid(request.info.kind, "", errs, request.info.group);
}

function answer(request: CreateRequest, status: Record<string, unknown>, spec?: unknown): KubeObject {
  const { info, object } = request;
  return {
    apiVersion: `${info.group}/${info.version}`,
    kind: info.kind,
    metadata: { ...object.metadata, creationTimestamp: null },
    ...(spec === undefined ? {} : { spec }),
    status,
  } as unknown as KubeObject;
}

function authorizerOf(request: CreateRequest) {
  if (!request.authorizer) throw new ApiError("ServiceUnavailable", "no authorizer is configured");
  return request.authorizer;
}

async function accessReview(request: CreateRequest, user: UserInfo, spec: Record<string, unknown>) {
  const decision = await authorizerOf(request).decide(user, attributesOf(spec, undefined), request.registry);
  const status: Record<string, unknown> = { allowed: decision.allowed };
  if (decision.reason) status.reason = decision.reason;
  return answer(request, status, spec);
}

const noColumns = { columns: [], row: () => [] };

/** SelfSubjectAccessReview: may I? */
export const selfSubjectAccessReviewStrategy: Strategy<Review> = {
  validate: (review) => validateAttributes(obj(review.spec)),
  ...noColumns,
};

/** Its create: the requester's own access. */
export const selfSubjectAccessReviewStorage: StorageOverride = {
  async create(request) {
    const spec = obj((request.object as Review).spec);
    reject(request, validateAttributes(spec));
    return accessReview(request, request.user, spec);
  },
};

/** SubjectAccessReview: may this user (with these groups) do it? */
export const subjectAccessReviewStrategy: Strategy<Review> = {
  validate(review) {
    const spec = obj(review.spec);
    const errs = validateAttributes(spec);
    const groups = Array.isArray(spec.groups) ? spec.groups : [];
    if (!spec.user && groups.length === 0)
      errs.push(invalid("spec.user", spec.user ?? "", "at least one of user or group must be specified"));
    return errs;
  },
  ...noColumns,
};

/** Its create: the subject's access, as the chain would decide it. */
export const subjectAccessReviewStorage: StorageOverride = {
  async create(request) {
    const spec = obj((request.object as Review).spec);
    reject(request, subjectAccessReviewStrategy.validate(request.object as Review, request.ctx));
    const user: UserInfo = {
      name: String(spec.user ?? ""),
      groups: Array.isArray(spec.groups) ? spec.groups.map(String) : [],
      uid: spec.uid ? String(spec.uid) : undefined,
    };
    return accessReview(request, user, spec);
  },
};

/** LocalSubjectAccessReview: SubjectAccessReview within the URL's namespace (what `admin` may ask). */
export const localSubjectAccessReviewStrategy: Strategy<Review> = {
  validate(review, ctx) {
    const errs = subjectAccessReviewStrategy.validate(review, ctx);
    if (obj(review.spec).nonResourceAttributes)
      errs.push(
        invalid(
          "spec.nonResourceAttributes",
          obj(review.spec).nonResourceAttributes,
          "disallowed on this kind of request",
        ),
      );
    return errs;
  },
  ...noColumns,
};

/** Its create: as SubjectAccessReview, the namespace fixed by the URL. */
export const localSubjectAccessReviewStorage: StorageOverride = {
  async create(request) {
    const spec = obj((request.object as Review).spec);
    reject(request, localSubjectAccessReviewStrategy.validate(request.object as Review, request.ctx));
    const attributes = obj(spec.resourceAttributes);
    if (attributes.namespace && attributes.namespace !== request.namespace)
      throw new ApiError(
        "BadRequest",
        `spec.resourceAttributes.namespace must match namespace: ${request.namespace}`,
      );
    const fixed = { ...spec, resourceAttributes: { ...attributes, namespace: request.namespace } };
    const user: UserInfo = {
      name: String(spec.user ?? ""),
      groups: Array.isArray(spec.groups) ? spec.groups.map(String) : [],
    };
    const answered = await accessReview(request, user, fixed);
    answered.metadata = { ...answered.metadata, namespace: request.namespace };
    return answered;
  },
};

/** SelfSubjectRulesReview: what may I do in a namespace? */
export const selfSubjectRulesReviewStrategy: Strategy<Review> = {
  validate: (review) => (obj(review.spec).namespace ? [] : [required("spec.namespace")]),
  ...noColumns,
};

/** Its create: the RBAC rules that apply, split as kube reports them. */
export const selfSubjectRulesReviewStorage: StorageOverride = {
  async create(request) {
    const spec = obj((request.object as Review).spec);
    reject(request, selfSubjectRulesReviewStrategy.validate(request.object as Review, request.ctx));
    const rules: PolicyRule[] = await authorizerOf(request).rules(
      request.user,
      String(spec.namespace),
      request.registry,
    );
    const resourceRules = rules
      .filter((r) => (r.resources ?? []).length > 0)
      .map((r) => ({
        verbs: r.verbs,
        apiGroups: r.apiGroups ?? [],
        resources: r.resources,
        ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
      }));
    const nonResourceRules = rules
      .filter((r) => (r.nonResourceURLs ?? []).length > 0)
      .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }));
    return answer(request, { resourceRules, nonResourceRules, incomplete: false }, spec);
  },
};

/** SelfSubjectReview: who am I? */
export const selfSubjectReviewStrategy: Strategy<Review> = { validate: () => [], ...noColumns };

/** Its create: the requester's user info as authenticated (after impersonation). */
export const selfSubjectReviewStorage: StorageOverride = {
  async create(request) {
    const { name, groups, uid, extra } = request.user;
    const userInfo: Record<string, unknown> = { username: name, groups };
    if (uid) userInfo.uid = uid;
    if (extra && Object.keys(extra).length) userInfo.extra = extra;
    return answer(request, { userInfo });
  },
};
