/**
 * Container validation (ValidateContainers / validateContainerPorts /
 * ValidateEnv / ValidateVolumeMounts / ValidateResourceRequirements).
 */
import type { FieldError } from "../../registry/types.ts";
import { duplicate, invalid, required } from "./errors.ts";
import { validateDNS1123Label, validateEnvVarName, validatePortName } from "./names.ts";
import { oneOf, validPort } from "./numbers.ts";
import { validateLifecycle, validateProbe } from "./probes.ts";
import { parseQuantity, validateNonNegativeQuantity } from "./quantity.ts";

type Obj = Record<string, unknown>;

/** Container name → field path of its first occurrence, shared across containers and init containers. */
export type SeenNames = Map<string, string>;

const PULL_POLICIES = ["Always", "IfNotPresent", "Never"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const TERMINATION_MESSAGE_POLICIES = ["FallbackToLogsOnError", "File"];

function validatePorts(ports: unknown, path: string): FieldError[] {
  if (ports === undefined) return [];
  if (!Array.isArray(ports)) return [invalid(path, ports, "must be a list")];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  ports.forEach((port: Obj, i) => {
    const p = `${path}[${i}]`;
    if (typeof port.name === "string" && port.name !== "") {
      errs.push(...validatePortName(port.name, `${p}.name`));
      if (names.has(port.name)) errs.push(duplicate(`${p}.name`, port.name));
      names.add(port.name);
    }
    if (port.containerPort === undefined) errs.push(required(`${p}.containerPort`));
    else errs.push(...validPort(port.containerPort, `${p}.containerPort`));
    if (port.hostPort !== undefined && port.hostPort !== 0)
      errs.push(...validPort(port.hostPort, `${p}.hostPort`));
    if (port.protocol === undefined || port.protocol === "") errs.push(required(`${p}.protocol`));
    else errs.push(...oneOf(port.protocol, PROTOCOLS, `${p}.protocol`));
  });
  return errs;
}

function validateEnv(env: unknown, path: string): FieldError[] {
  if (env === undefined) return [];
  if (!Array.isArray(env)) return [invalid(path, env, "must be a list")];
  const errs: FieldError[] = [];
  env.forEach((e: Obj, i) => {
    const p = `${path}[${i}]`;
    errs.push(...validateEnvVarName(e.name, `${p}.name`));
    if (e.valueFrom !== undefined) {
      const sources = Object.keys((e.valueFrom as Obj) ?? {}).filter((k) => (e.valueFrom as Obj)[k] != null);
      if (sources.length === 0)
        errs.push(
          invalid(
            `${p}.valueFrom`,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
          ),
        );
      else if (sources.length > 1)
        errs.push(invalid(`${p}.valueFrom`, "", "may not have more than one field specified at a time"));
      if (e.value !== undefined && e.value !== "")
        errs.push(invalid(`${p}.valueFrom`, "", "may not be specified when `value` is not empty"));
    }
  });
  return errs;
}

function validateMounts(mounts: unknown, path: string, volumes: Set<string>): FieldError[] {
  if (mounts === undefined) return [];
  if (!Array.isArray(mounts)) return [invalid(path, mounts, "must be a list")];
  const errs: FieldError[] = [];
  const paths = new Set<string>();
  mounts.forEach((m: Obj, i) => {
    const p = `${path}[${i}]`;
    if (!m.name) errs.push(required(`${p}.name`));
    else if (!volumes.has(m.name as string))
      errs.push({
        reason: "FieldValueNotFound",
        field: `${p}.name`,
        message: `Not found: ${JSON.stringify(m.name)}`,
      });
    if (!m.mountPath) errs.push(required(`${p}.mountPath`));
    else if (paths.has(m.mountPath as string))
      errs.push(invalid(`${p}.mountPath`, m.mountPath, "must be unique"));
    else paths.add(m.mountPath as string);
  });
  return errs;
}

function validateResources(resources: unknown, path: string): FieldError[] {
  if (!resources || typeof resources !== "object") return [];
  const r = resources as { limits?: Obj; requests?: Obj };
  const errs: FieldError[] = [];
  for (const kind of ["limits", "requests"] as const) {
    for (const [name, q] of Object.entries(r[kind] ?? {}))
      errs.push(...validateNonNegativeQuantity(q, `${path}.${kind}[${name}]`));
  }
  for (const [name, q] of Object.entries(r.requests ?? {})) {
    const limit = r.limits?.[name];
    const req = parseQuantity(q);
    const lim = parseQuantity(limit);
    if (req !== undefined && lim !== undefined && req > lim)
      errs.push(
        invalid(`${path}.requests[${name}]`, q, `must be less than or equal to ${name} limit of ${limit}`),
      );
  }
  return errs;
}

/** Errors of one container at `path`; `seen` detects duplicate names across the pod's containers. */
export function validateContainer(c: Obj, path: string, volumes: Set<string>, seen: SeenNames): FieldError[] {
  if (!c || typeof c !== "object") return [invalid(path, c, "must be an object")];
  const errs = validateDNS1123Label(c.name, `${path}.name`);
  if (typeof c.name === "string" && c.name) {
    if (seen.has(c.name)) errs.push(duplicate(`${path}.name`, c.name));
    seen.set(c.name, path);
  }
  if (!c.image || (typeof c.image === "string" && c.image.trim() === ""))
    errs.push(required(`${path}.image`));
  errs.push(...oneOf(c.imagePullPolicy, PULL_POLICIES, `${path}.imagePullPolicy`));
  errs.push(
    ...oneOf(c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES, `${path}.terminationMessagePolicy`),
  );
  errs.push(...validatePorts(c.ports, `${path}.ports`));
  errs.push(...validateEnv(c.env, `${path}.env`));
  errs.push(...validateMounts(c.volumeMounts, `${path}.volumeMounts`, volumes));
  errs.push(...validateResources(c.resources, `${path}.resources`));
  for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"])
    errs.push(...validateProbe(c[probe], `${path}.${probe}`));
  errs.push(...validateLifecycle(c.lifecycle, `${path}.lifecycle`));
  return errs;
}
