/**
 * admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration: webhooks the
 * API server asks, after validation, whether a write may go ahead
 * (admission/webhook/ dispatches them; validation and defaults live there too).
 */
import type { KubeObject } from "../../client/kube.ts";
import { defaultWebhooks, validateWebhooks } from "../admission/webhook/validation.ts";
import type { RequestContext, Strategy } from "../registry/types.ts";
import { webhookColumns, webhookRow } from "./webhookconfiguration-print.ts";

/** A Warning for each webhook reached through an in-cluster Service, which this server cannot call. */
export function warnServiceReferences(config: KubeObject, ctx: RequestContext): void {
  const hooks = Array.isArray(config.webhooks) ? config.webhooks : [];
  hooks.forEach((hook, i) => {
    if (hook?.clientConfig?.service)
      ctx.warnings?.push(
        `webhooks[${i}].clientConfig.service: this server calls webhooks by clientConfig.url only; calls to "${hook.name}" fail and its failurePolicy applies`,
      );
  });
}

/** The ValidatingWebhookConfiguration strategy (cluster-scoped, spec-less). */
export const validatingWebhookConfigurationStrategy: Strategy = {
  defaults: (config) => defaultWebhooks(config, false),
  prepareForCreate: warnServiceReferences,
  prepareForUpdate: (config, _old, ctx) => warnServiceReferences(config, ctx),
  validate: (config) => validateWebhooks(config, false),
  columns: webhookColumns,
  row: webhookRow,
};
