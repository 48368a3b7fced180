/**
 * admissionregistration.k8s.io/v1 MutatingWebhookConfiguration: webhooks the
 * API server calls, before validation, to patch a write (admission/webhook/).
 */
import { defaultWebhooks, validateWebhooks } from "../admission/webhook/validation.ts";
import type { Strategy } from "../registry/types.ts";
import { warnServiceReferences } from "./validatingwebhookconfiguration.ts";
import { webhookColumns, webhookRow } from "./webhookconfiguration-print.ts";

/** The MutatingWebhookConfiguration strategy (cluster-scoped, spec-less). */
export const mutatingWebhookConfigurationStrategy: Strategy = {
  defaults: (config) => defaultWebhooks(config, true),
  prepareForCreate: warnServiceReferences,
  prepareForUpdate: (config, _old, ctx) => warnServiceReferences(config, ctx),
  validate: (config) => validateWebhooks(config, true),
  columns: webhookColumns,
  row: webhookRow,
};
