/**
 * Defaults and validation of ValidatingWebhookConfiguration and
 * MutatingWebhookConfiguration (admissionregistration.k8s.io/v1), after
 * kube's pkg/apis/admissionregistration/v1/defaults.go and
 * validation/validation.go: every field error, with kube's paths and wording.
 */
import type { KubeObject } from "../../../client/kube.ts";
import { duplicate, invalid, notSupported, required } from "../../kinds/validation/errors.ts";
import { validateDNS1123Subdomain, validateQualifiedName } from "../../kinds/validation/names.ts";
import { validPort } from "../../kinds/validation/numbers.ts";
import { validateLabelSelector } from "../../kinds/validation/selector.ts";
import type { FieldError } from "../../registry/types.ts";
import { compileError } from "./conditions.ts";

/** One webhook of either configuration, as read from a request body (so every field may be anything). */
// biome-ignore lint/suspicious/noExplicitAny: request bodies are checked field by field below
export type WebhookSpec = Record<string, any>;

const OPERATIONS = ["CREATE", "UPDATE", "DELETE", "CONNECT", "*"];
const SCOPES = ["Cluster", "Namespaced", "*"];
const FAILURE_POLICIES = ["Ignore", "Fail"];
const MATCH_POLICIES = ["Exact", "Equivalent"];
/** v1 refuses Some and Unknown: a v1 webhook must be safe to skip or call on dry run. */
const SIDE_EFFECTS = ["None", "NoneOnDryRun"];
const REINVOCATION = ["Never", "IfNeeded"];
/** The only AdmissionReview version Edgeplane sends. */
const REVIEW_VERSION = "v1";
/** kube's limit on matchConditions per webhook. */
const MAX_MATCH_CONDITIONS = 64;
const URL_FORM = "; desired format: https://host[/path]";

/** kube's SetDefaults_*Webhook (and SetDefaults_Rule, SetDefaults_ServiceReference). */
export function defaultWebhooks(config: KubeObject, mutating: boolean): void {
  if (!Array.isArray(config.webhooks)) return;
  for (const hook of config.webhooks as WebhookSpec[]) {
    if (!hook || typeof hook !== "object") continue;
    hook.failurePolicy ??= "Fail";
    hook.matchPolicy ??= "Equivalent";
    hook.namespaceSelector ??= {};
    hook.objectSelector ??= {};
    hook.timeoutSeconds ??= 10;
    if (mutating) hook.reinvocationPolicy ??= "Never";
    for (const rule of Array.isArray(hook.rules) ? hook.rules : []) if (rule) rule.scope ??= "*";
    const service = hook.clientConfig?.service;
    if (service && typeof service === "object") service.port ??= 443;
  }
}

/** Every field error of a webhook configuration's `webhooks` list. */
export function validateWebhooks(config: KubeObject, mutating: boolean): FieldError[] {
  const hooks = config.webhooks;
  if (hooks === undefined || hooks === null) return [];
  if (!Array.isArray(hooks)) return [invalid("webhooks", hooks, "must be a list")];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  hooks.forEach((hook: WebhookSpec, i) => {
    const path = `webhooks[${i}]`;
    if (!hook || typeof hook !== "object") {
      errs.push(invalid(path, hook, "must be an object"));
      return;
    }
    if (typeof hook.name === "string" && hook.name !== "") {
      if (seen.has(hook.name)) errs.push(duplicate(`${path}.name`, hook.name));
      seen.add(hook.name);
    }
    errs.push(...validateWebhook(hook, path, mutating));
  });
  return errs;
}

function validateWebhook(hook: WebhookSpec, path: string, mutating: boolean): FieldError[] {
  const errs = fullyQualifiedName(hook.name, `${path}.name`);
  list(hook.rules).forEach((rule, j) => {
    errs.push(...validateRule(rule, `${path}.rules[${j}]`));
  });
  errs.push(...enumRequired(hook.failurePolicy, FAILURE_POLICIES, `${path}.failurePolicy`));
  errs.push(...enumRequired(hook.matchPolicy, MATCH_POLICIES, `${path}.matchPolicy`));
  if (hook.sideEffects === undefined || hook.sideEffects === null || hook.sideEffects === "")
    errs.push(required(`${path}.sideEffects`, `must specify one of ${SIDE_EFFECTS.join(", ")}`));
  else if (!SIDE_EFFECTS.includes(hook.sideEffects))
    errs.push(notSupported(`${path}.sideEffects`, hook.sideEffects, SIDE_EFFECTS));
  if (mutating)
    errs.push(...enumRequired(hook.reinvocationPolicy, REINVOCATION, `${path}.reinvocationPolicy`));
  const t = hook.timeoutSeconds;
  if (typeof t !== "number" || !Number.isInteger(t) || t < 1 || t > 30)
    errs.push(invalid(`${path}.timeoutSeconds`, t, "the timeout value must be between 1 and 30 seconds"));
  errs.push(...reviewVersions(hook.admissionReviewVersions, `${path}.admissionReviewVersions`));
  errs.push(...validateLabelSelector(hook.namespaceSelector, `${path}.namespaceSelector`));
  errs.push(...validateLabelSelector(hook.objectSelector, `${path}.objectSelector`));
  errs.push(...clientConfig(hook.clientConfig, `${path}.clientConfig`));
  errs.push(...matchConditions(hook.matchConditions, `${path}.matchConditions`));
  return errs;
}

/** validateMatchConditions: at most 64, unique qualified names, expressions that compile to bool. */
function matchConditions(value: unknown, field: string): FieldError[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return [invalid(field, value, "must be a list")];
  if (value.length > MAX_MATCH_CONDITIONS) return [tooMany(field, value.length, MAX_MATCH_CONDITIONS)];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  value.forEach((condition: WebhookSpec, i) => {
    const path = `${field}[${i}]`;
    const name = condition?.name;
    if (typeof name !== "string" || name === "") errs.push(required(`${path}.name`));
    else {
      errs.push(...validateQualifiedName(name, `${path}.name`));
      if (seen.has(name)) errs.push(duplicate(`${path}.name`, name));
      seen.add(name);
    }
    const expression = condition?.expression;
    if (typeof expression !== "string" || expression.trim() === "") errs.push(required(`${path}.expression`));
    else {
      const why = compileError(expression);
      if (why) errs.push(invalid(`${path}.expression`, expression, `compilation failed: ${why}`));
    }
  });
  return errs;
}

function list(value: unknown): WebhookSpec[] {
  return Array.isArray(value) ? value : [];
}

/** field.TooMany, as kube words it. */
function tooMany(field: string, actual: number, max: number): FieldError {
  return {
    reason: "FieldValueTooMany",
    field,
    message: `Too many: ${actual}: must have at most ${max} items`,
  };
}

function enumRequired(value: unknown, allowed: string[], field: string): FieldError[] {
  if (value === undefined || value === null || value === "") return [required(field)];
  return allowed.includes(value as string) ? [] : [notSupported(field, value, allowed)];
}

/** utilvalidation.IsFullyQualifiedName: a DNS subdomain of at least three segments. */
function fullyQualifiedName(value: unknown, field: string): FieldError[] {
  if (value === undefined || value === null || value === "") return [required(field)];
  if (typeof value !== "string") return [invalid(field, value, "must be a string")];
  const name = value.endsWith(".") ? value.slice(0, -1) : value;
  const errs = validateDNS1123Subdomain(name, field);
  if (errs.length) return errs;
  if (name.split(".").length < 3)
    return [invalid(field, name, "should be a domain with at least three segments separated by dots")];
  return [];
}

/** validateRuleWithOperations: operations, then the rule's groups, versions, resources and scope. */
function validateRule(rule: WebhookSpec, path: string): FieldError[] {
  if (!rule || typeof rule !== "object") return [invalid(path, rule, "must be an object")];
  const errs = wildcardList(rule.operations, `${path}.operations`, "operations");
  list(rule.operations).forEach((op, k) => {
    if (!OPERATIONS.includes(op as unknown as string))
      errs.push(notSupported(`${path}.operations[${k}]`, op, OPERATIONS));
  });
  errs.push(...wildcardList(rule.apiGroups, `${path}.apiGroups`, "API groups"));
  errs.push(...wildcardList(rule.apiVersions, `${path}.apiVersions`, "API versions"));
  list(rule.apiVersions).forEach((v, k) => {
    if ((v as unknown) === "") errs.push(required(`${path}.apiVersions[${k}]`));
  });
  errs.push(...validateResources(rule.resources, `${path}.resources`));
  if (rule.scope !== undefined && !SCOPES.includes(rule.scope))
    errs.push(notSupported(`${path}.scope`, rule.scope, SCOPES));
  return errs;
}

/** A required list where "*" must stand alone. */
function wildcardList(value: unknown, field: string, what: string): FieldError[] {
  if (!Array.isArray(value) || value.length === 0) return [required(field)];
  if (value.length > 1 && value.includes("*"))
    return [invalid(field, value, `if '*' is present, must not specify other ${what}`)];
  return [];
}

/** kube's validateResources: "x", "x/y", "x/*", "*\/y", "*", "*\/*" and their exclusions. */
function validateResources(value: unknown, field: string): FieldError[] {
  if (!Array.isArray(value) || value.length === 0) return [required(field)];
  const errs: FieldError[] = [];
  const wildSub = new Set<string>();
  const wildRes = new Set<string>();
  let doubleWild = false;
  let singleWild = false;
  let plain = false;
  value.forEach((resSub: unknown, i) => {
    if (typeof resSub !== "string" || resSub === "") {
      errs.push(required(`${field}[${i}]`));
      return;
    }
    if (resSub === "*/*") doubleWild = true;
    if (resSub === "*") singleWild = true;
    const slash = resSub.indexOf("/");
    if (slash < 0) {
      plain = resSub !== "*";
      return;
    }
    const res = resSub.slice(0, slash);
    const sub = resSub.slice(slash + 1);
    if (wildSub.has(res))
      errs.push(invalid(`${field}[${i}]`, resSub, `if '${res}/*' is present, must not specify ${resSub}`));
    if (wildRes.has(sub))
      errs.push(invalid(`${field}[${i}]`, resSub, `if '*/${sub}' is present, must not specify ${resSub}`));
    if (sub === "*") wildSub.add(res);
    if (res === "*") wildRes.add(sub);
  });
  if (value.length > 1 && doubleWild)
    errs.push(invalid(field, value, "if '*/*' is present, must not specify other resources"));
  if (singleWild && plain)
    errs.push(
      invalid(field, value, "if '*' is present, must not specify other resources without subresources"),
    );
  return errs;
}

/** validateAdmissionReviewVersions, narrowed to v1: the only AdmissionReview version this server sends. */
function reviewVersions(value: unknown, field: string): FieldError[] {
  if (!Array.isArray(value) || value.length === 0)
    return [required(field, `must specify one of ${REVIEW_VERSION}`)];
  const errs: FieldError[] = [];
  const seen = new Set<unknown>();
  value.forEach((v, i) => {
    if (seen.has(v)) errs.push(invalid(`${field}[${i}]`, v, "duplicate version"));
    else if (typeof v !== "string" || !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(v) || v.length > 63)
      errs.push(
        invalid(
          `${field}[${i}]`,
          v,
          "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        ),
      );
    seen.add(v);
  });
  if (!value.includes(REVIEW_VERSION))
    errs.push(invalid(field, value, `must include at least one of ${REVIEW_VERSION}`));
  return errs;
}

/** ValidateWebhookClientConfig: exactly one of url (https, no user, query or fragment) and service. */
function clientConfig(cc: WebhookSpec | undefined, field: string): FieldError[] {
  const hasUrl = cc?.url !== undefined && cc?.url !== null;
  const hasService = cc?.service !== undefined && cc?.service !== null;
  if (hasUrl === hasService) return [required(field, "exactly one of url or service is required")];
  const errs: FieldError[] = [];
  if (cc?.caBundle !== undefined && (typeof cc.caBundle !== "string" || !isBase64(cc.caBundle)))
    errs.push(invalid(`${field}.caBundle`, cc.caBundle, "must be base64-encoded bytes"));
  if (hasUrl) return [...errs, ...webhookUrl(cc?.url, `${field}.url`)];
  return [...errs, ...serviceRef(cc?.service, `${field}.service`)];
}

function isBase64(value: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0;
}

/** webhook.ValidateWebhookURL with forceHttps. */
function webhookUrl(value: unknown, field: string): FieldError[] {
  let u: URL;
  try {
    u = new URL(String(value));
  } catch (error) {
    return [required(field, `url must be a valid URL: ${(error as Error).message}${URL_FORM}`)];
  }
  const errs: FieldError[] = [];
  const scheme = u.protocol.replace(/:$/, "");
  if (scheme !== "https")
    errs.push(invalid(field, scheme, `'https' is the only allowed URL scheme${URL_FORM}`));
  if (!u.host) errs.push(invalid(field, u.host, `host must be specified${URL_FORM}`));
  if (u.username || u.password) {
    const user = u.password ? `${u.username}:${u.password}` : u.username;
    errs.push(invalid(field, decodeURIComponent(user), "user information is not permitted in the URL"));
  }
  if (u.hash) errs.push(invalid(field, u.hash.slice(1), "fragments are not permitted in the URL"));
  if (u.search) errs.push(invalid(field, u.search.slice(1), "query parameters are not permitted in the URL"));
  return errs;
}

/** webhook.ValidateWebhookService: name, namespace, port and a path of DNS-subdomain segments. */
function serviceRef(svc: WebhookSpec, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!svc.name) errs.push(required(`${field}.name`, "service name is required"));
  if (!svc.namespace) errs.push(required(`${field}.namespace`, "service namespace is required"));
  if (validPort(svc.port, `${field}.port`).length)
    errs.push(
      invalid(`${field}.port`, svc.port, "port is not valid: must be between 1 and 65535, inclusive"),
    );
  const p = svc.path;
  if (p === undefined || p === null || p === "" || p === "/") return errs;
  const pathField = `${field}.path`;
  if (typeof p !== "string") return [...errs, invalid(pathField, p, "must be a string")];
  if (p === "//") return [...errs, invalid(pathField, p, "segment[0] may not be empty")];
  if (!p.startsWith("/")) errs.push(invalid(pathField, p, "must start with a '/'"));
  let rest = p.slice(1);
  if (rest.endsWith("/")) rest = rest.slice(0, -1);
  rest.split("/").forEach((step, i) => {
    if (step === "") errs.push(invalid(pathField, p, `segment[${i}] may not be empty`));
    else
      for (const e of validateDNS1123Subdomain(step, pathField))
        errs.push(
          invalid(pathField, p, `segment[${i}]: ${e.message.replace(/^Invalid value: "[^"]*": /, "")}`),
        );
  });
  return errs;
}
