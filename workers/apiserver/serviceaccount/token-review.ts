/**
 * authentication.k8s.io/v1 TokenReview (kube's pkg/registry/authentication/tokenreview):
 * a create-only kind that is never stored. It runs the API server's own
 * authenticators on spec.token for spec.audiences (default the API
 * server's) and answers status.authenticated, the user and the audiences the
 * token is valid for. A token that does not authenticate is a 201 with
 * authenticated false, not an error: the caller asked a question.
 */
import type { KubeObject } from "../../client/kube.ts";
import { errors } from "../../client/status.ts";
import type { TokenReview } from "../../client/types.ts";
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";
import type { StorageOverride, Strategy } from "../registry/types.ts";

/** authentication/v1 TokenReview protobuf field numbers (generated.proto). */
export const tokenReviewProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: ["spec", { 1: ["token", "string"], 2: ["audiences", "strings"] }],
};

/** The strategy: nothing is stored, so there is nothing to print or validate beyond the handler's checks. */
export const tokenReviewStrategy: Strategy<TokenReview> = {
  validate: () => [],
  columns: [],
  row: () => [],
};

/** Answer a TokenReview. */
export const tokenReviewStorage: StorageOverride = {
  async create({ object, services }) {
    const review = object as unknown as TokenReview;
    const token = review.spec?.token ?? "";
    if (!token) throw errors.badRequest("token is required for TokenReview in authentication");
    const audiences = review.spec?.audiences?.length ? review.spec.audiences : undefined;
    const identity = await services.tokens?.review?.(token, audiences);
    const status: TokenReview["status"] = identity
      ? {
          authenticated: true,
          user: {
            username: identity.user.name,
            uid: identity.user.uid ?? "",
            groups: identity.user.groups,
            ...(identity.user.extra && Object.keys(identity.user.extra).length > 0
              ? { extra: identity.user.extra }
              : {}),
          },
          audiences: identity.audiences,
        }
      : { authenticated: false, user: {}, error: "[invalid bearer token, token lookup failed]" };
    return {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      metadata: { creationTimestamp: null },
      spec: review.spec,
      status,
    } as unknown as KubeObject;
  },
};
