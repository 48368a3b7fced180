/**
 * networking.k8s.io/v1 IngressClass: kube's validation
 * (ValidateIngressClass), its printer (NAME CONTROLLER PARAMETERS AGE), and
 * the built-in `edgeplane` class (the Worker's own ingress, workers/ingress),
 * created at start-up and marked default so Ingresses without a class are ours.
 */
import type { IngressClass } from "kubernetes-types/networking/v1.js";
import { ApiError } from "../../client/status.ts";
import type { Registry } from "../registry/registry.ts";
import type { FieldError, RequestContext, StorageOverride, Strategy } from "../registry/types.ts";
import { AGE, age, col } from "./print.ts";
import { obj } from "./util.ts";
import { checkImmutable, forbidden, invalid, notSupported, required, tooLong } from "./validation/errors.ts";
import { validateDNS1123Subdomain } from "./validation/names.ts";

/** The annotation marking the cluster's default IngressClass. */
export const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";
/** The built-in class's name, and the controller value the Worker's ingress answers for. */
const EDGEPLANE_CLASS = "edgeplane";
/** spec.controller of the built-in class. */
export const EDGEPLANE_CONTROLLER = "edgeplane.dev/ingress";

/** A domain-prefixed path ("example.com/name"): kube's ValidateIngressClassController. */
const CONTROLLER = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[^/].*$/;

function validateParameters(value: unknown): FieldError[] {
  if (value === undefined || value === null) return [];
  const p = obj(value);
  const at = "spec.parameters";
  const errs: FieldError[] = [];
  if (!p.kind) errs.push(required(`${at}.kind`));
  if (!p.name) errs.push(required(`${at}.name`));
  const scope = p.scope;
  if (scope !== undefined && scope !== "Cluster" && scope !== "Namespace")
    errs.push(notSupported(`${at}.scope`, scope, ["Cluster", "Namespace"]));
  if (scope === "Namespace" && !p.namespace)
    errs.push(required(`${at}.namespace`, "`parameters.scope` is set to 'Namespace'"));
  if (scope !== "Namespace" && p.namespace)
    errs.push(forbidden(`${at}.namespace`, "`parameters.scope` is set to 'Cluster'"));
  if (p.namespace) errs.push(...validateDNS1123Subdomain(p.namespace, `${at}.namespace`));
  return errs;
}

/** Every field error of an IngressClass. */
function validateIngressClass(ic: IngressClass): FieldError[] {
  const spec = obj(ic.spec);
  const errs: FieldError[] = [];
  const controller = spec.controller;
  if (typeof controller !== "string" || controller === "") errs.push(required("spec.controller"));
  else if (controller.length > 250) errs.push(tooLong("spec.controller", 250));
  else if (!CONTROLLER.test(controller))
    errs.push(
      invalid("spec.controller", controller, 'must be a domain-prefixed path (such as "acme.io/foo")'),
    );
  errs.push(...validateParameters(spec.parameters));
  return errs;
}

/** The IngressClass strategy. */
export const ingressClassStrategy: Strategy<IngressClass> = {
  validate: (ic) => validateIngressClass(ic),
  validateUpdate: (ic, old) => checkImmutable(ic.spec?.controller, old.spec?.controller, "spec.controller"),
  columns: [
    col("Controller", "Controller that is responsible for handling this class"),
    col("Parameters", "A reference to a resource with additional parameters"),
    AGE,
  ],
  row: (ic, now) => {
    const p = ic.spec?.parameters;
    const parameters = p ? `${p.kind}${p.apiGroup ? `.${p.apiGroup}` : ""}/${p.name}` : "<none>";
    return [ic.spec?.controller ?? "", parameters, age(ic, now)];
  },
};

const SYSTEM: RequestContext = {
  user: "system:apiserver",
  groups: ["system:masters"],
  now: new Date(0),
  dryRun: false,
};

/** Create the built-in `edgeplane` class when missing (one list when it exists). */
async function ensureEdgeplaneClass(registry: Registry): Promise<void> {
  const info = registry.lookup("networking.k8s.io", "ingressclasses");
  if (!info) return;
  const existing = await registry.list(info, undefined);
  if (existing.items.some((c) => c.metadata?.name === EDGEPLANE_CLASS)) return;
  try {
    await registry.create(
      info,
      undefined,
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "IngressClass",
        metadata: { name: EDGEPLANE_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" } },
        spec: { controller: EDGEPLANE_CONTROLLER },
      },
      { ...SYSTEM, now: registry.now() },
      { manager: "edgeplane-apiserver" },
    );
  } catch (error) {
    if (!(error instanceof ApiError && error.reason === "AlreadyExists")) throw error;
  }
}

/** The ingressclasses row's override: the built-in class. */
export const ingressClassStorage: StorageOverride = { bootstrap: ensureEdgeplaneClass };
