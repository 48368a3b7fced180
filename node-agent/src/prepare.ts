/**
 * Turns a pod's volumes and env into what a runtime needs: directories on the
 * host (emptyDir, hostPath, configMap, secret, downwardAPI, projected with
 * ServiceAccount tokens, written with the
 * right key→file layout, atomically the kubelet way and rewritten when the
 * source changes; subPaths resolved without leaving the volume) and a flat
 * environment (value, configMapKeyRef, secretKeyRef, fieldRef,
 * resourceFieldRef, envFrom). Missing non-optional sources are ConfigErrors.
 */
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { KubeClient, KubeObject } from "../../workers/client/kube.ts";
import { R } from "../../workers/client/resources.ts";
import { ApiError } from "../../workers/client/status.ts";
import { type PayloadFile, PayloadPathError, writeAtomically } from "./fs/atomic-writer.ts";
import { PathEscapeError, resolveBeneath } from "./fs/securejoin.ts";
import { ConfigError, type PreparedPod } from "./pod/context.ts";
import { type Container, type Pod, parseQuantity } from "./pod/k8s.ts";
import type { Mount } from "./runtime/types.ts";
import type { ServiceAccountTokens } from "./service-account-tokens.ts";

type DataObject = KubeObject & { data?: Record<string, string>; binaryData?: Record<string, string> };

/** Reads ConfigMaps and Secrets (as bytes) for a namespace; undefined when absent. */
export interface SourceReader {
  configMap(namespace: string, name: string): Promise<Record<string, Uint8Array> | undefined>;
  secret(namespace: string, name: string): Promise<Record<string, Uint8Array> | undefined>;
  /** The host directory of a bound claim's volume; throws ConfigError while it is missing or unbound. */
  claimPath?(namespace: string, claimName: string): Promise<string>;
  /** A token for the pod's ServiceAccount bound to the pod (projected serviceAccountToken sources). */
  serviceAccountToken?(
    pod: Pod,
    audience: string | undefined,
    expirationSeconds: number | undefined,
  ): Promise<string>;
}

type Claim = KubeObject & { spec?: { volumeName?: string }; status?: { phase?: string } };
type Volume = KubeObject & { spec?: { local?: { path?: string }; hostPath?: { path?: string } } };

/** SourceReader over the Kubernetes API; `tokens` (the agent's token manager) serves serviceAccountToken sources. */
export function apiSources(client: KubeClient, tokens?: ServiceAccountTokens): SourceReader {
  const read = async (ref: typeof R.configmaps, namespace: string, name: string, base64: boolean) => {
    try {
      const object = await client.get<DataObject>(ref, namespace, name);
      const out: Record<string, Uint8Array> = {};
      for (const [k, v] of Object.entries(object.data ?? {}))
        out[k] = base64 ? Buffer.from(v, "base64") : Buffer.from(v);
      for (const [k, v] of Object.entries(object.binaryData ?? {})) out[k] = Buffer.from(v, "base64");
      return out;
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return undefined;
      throw error;
    }
  };
  const claimPath = async (namespace: string, claimName: string): Promise<string> => {
    // The node authorizer lets a node get exactly the claims (and their volumes) of its pods.
    const claim = await client.get<Claim>(R.persistentvolumeclaims, namespace, claimName).catch((error) => {
      if (error instanceof ApiError && error.code === 404)
        throw new ConfigError(`persistentvolumeclaim "${claimName}" not found`);
      throw error;
    });
    const volumeName = claim.spec?.volumeName;
    if (!volumeName || claim.status?.phase !== "Bound")
      throw new ConfigError(`persistentvolumeclaim "${claimName}" is not bound yet`);
    const pv = await client.get<Volume>(R.persistentvolumes, undefined, volumeName);
    const path = pv.spec?.local?.path ?? pv.spec?.hostPath?.path;
    if (!path) throw new ConfigError(`persistentvolume "${volumeName}" has no local or hostPath source`);
    return path;
  };
  return {
    configMap: (ns, name) => read(R.configmaps, ns, name, false),
    secret: (ns, name) => read(R.secrets, ns, name, true),
    claimPath,
    serviceAccountToken: tokens ? (pod, audience, seconds) => tokens.get(pod, audience, seconds) : undefined,
  };
}

/** Materialise the pod's volumes under podDir/volumes and resolve env; safe to call again to refresh. */
export async function preparePod(
  pod: Pod,
  podIP: string,
  podDir: string,
  hostIP: string,
  sources: SourceReader,
): Promise<PreparedPod> {
  const namespace = pod.metadata.namespace ?? "default";
  const volumeDirs = new Map<string, string>();
  // Kubelet mounts these read-only whatever the pod asks: the container must not plant links in them.
  const readOnlyVolumes = new Set<string>();
  for (const volume of pod.spec.volumes ?? []) {
    const dir = join(podDir, "volumes", volume.name);
    const claim = volume.persistentVolumeClaim;
    if (claim) {
      if (!sources.claimPath) throw new ConfigError(`volume "${volume.name}": claims are not supported here`);
      const path = await sources.claimPath(namespace, claim.claimName);
      if (!existsSync(path)) {
        mkdirSync(path, { recursive: true });
        // As local-path-provisioner's helper does (mkdir -m 0777): pods run as other users than the agent.
        chmodSync(path, 0o777);
      }
      volumeDirs.set(volume.name, path);
      if (claim.readOnly) readOnlyVolumes.add(volume.name);
      continue;
    }
    if (volume.hostPath) {
      if (volume.hostPath.type === "DirectoryOrCreate") mkdirSync(volume.hostPath.path, { recursive: true });
      volumeDirs.set(volume.name, volume.hostPath.path);
      continue;
    }
    mkdirSync(dir, { recursive: true });
    volumeDirs.set(volume.name, dir);
    const cm = volume.configMap;
    const secret = volume.secret;
    const downward = volume.downwardAPI;
    let files: Record<string, PayloadFile> | undefined;
    if (cm)
      files = await keyFiles(
        sources,
        namespace,
        { kind: "configmap", ...cm, name: cm.name ?? "" },
        cm.defaultMode,
      );
    else if (secret)
      files = await keyFiles(
        sources,
        namespace,
        { kind: "secret", ...secret, name: secret.secretName ?? "" },
        secret.defaultMode,
      );
    else if (downward) files = downwardFiles(pod, downward.items, podIP, hostIP, downward.defaultMode);
    else if (volume.projected) {
      // One payload from every source, as kubelet's projected volume plugin builds it.
      files = {};
      const mode = volume.projected.defaultMode;
      for (const source of volume.projected.sources ?? []) {
        if (source.configMap)
          Object.assign(
            files,
            await keyFiles(
              sources,
              namespace,
              { kind: "configmap", ...source.configMap, name: source.configMap.name ?? "" },
              mode,
            ),
          );
        if (source.secret)
          Object.assign(
            files,
            await keyFiles(
              sources,
              namespace,
              { kind: "secret", ...source.secret, name: source.secret.name ?? "" },
              mode,
            ),
          );
        if (source.downwardAPI)
          Object.assign(files, downwardFiles(pod, source.downwardAPI.items, podIP, hostIP, mode));
        if (source.serviceAccountToken)
          files[source.serviceAccountToken.path] = {
            data: Buffer.from(await tokenFor(pod, source.serviceAccountToken, sources)),
            mode,
          };
      }
    }
    if (files) {
      readOnlyVolumes.add(volume.name);
      writeVolume(volume.name, dir, files);
    }
  }

  const envs = new Map<string, Record<string, string>>();
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers])
    envs.set(c.name, await resolveEnv(pod, c, podIP, hostIP, sources));

  return {
    env: (container) => envs.get(container.name) ?? {},
    mounts: (container) =>
      (container.volumeMounts ?? []).flatMap((m): Mount[] => {
        const base = volumeDirs.get(m.name);
        if (!base) return [];
        const readOnly = readOnlyVolumes.has(m.name) || (m.readOnly ?? false);
        const subPath = m.subPathExpr ? expand(m.subPathExpr, envs.get(container.name) ?? {}) : m.subPath;
        if (!subPath) return [{ hostPath: base, containerPath: m.mountPath, readOnly }];
        try {
          // Created when missing, as kubelet does; refused when it is or passes through a link out.
          const hostPath = resolveBeneath(base, subPath, { mkdir: !readOnlyVolumes.has(m.name) });
          return [{ hostPath, containerPath: m.mountPath, readOnly }];
        } catch (error) {
          if (!(error instanceof PathEscapeError)) throw error;
          throw new SubPathError(
            `failed to prepare subPath for volumeMount "${m.name}" of container "${container.name}": ${error.message}`,
          );
        }
      }),
  };
}

/** A projected token; a refusal (account not there yet, no signing key) is the pod's configuration error, retried. */
async function tokenFor(
  pod: Pod,
  source: { audience?: string; expirationSeconds?: number },
  sources: SourceReader,
): Promise<string> {
  if (!sources.serviceAccountToken)
    throw new ConfigError("serviceAccountToken volumes are not supported here");
  try {
    return await sources.serviceAccountToken(pod, source.audience, source.expirationSeconds);
  } catch (error) {
    if (error instanceof ApiError)
      throw new ConfigError(
        `failed to fetch token for service account "${pod.spec.serviceAccountName || "default"}": ${error.message}`,
      );
    throw error;
  }
}

/** A configMap or secret as a volume source: all its keys, or the listed items. */
interface KeySource {
  kind: "configmap" | "secret";
  name: string;
  items?: { key: string; path: string; mode?: number }[];
  optional?: boolean;
}

/** The files of a configMap/secret source; none when it is optional and absent. */
async function keyFiles(
  sources: SourceReader,
  namespace: string,
  source: KeySource,
  mode: number | undefined,
): Promise<Record<string, PayloadFile>> {
  const { kind, name, items, optional } = source;
  const data =
    kind === "secret" ? await sources.secret(namespace, name) : await sources.configMap(namespace, name);
  if (!data) {
    if (optional) return {};
    throw new ConfigError(`${kind} "${name}" not found`);
  }
  const files: Record<string, PayloadFile> = {};
  if (!items) {
    for (const [key, bytes] of Object.entries(data)) files[key] = { data: bytes, mode };
    return files;
  }
  for (const item of items) {
    if (!(item.key in data)) {
      if (optional) continue;
      throw new ConfigError(`configmap/secret "${name}" has no key "${item.key}"`);
    }
    files[item.path] = { data: data[item.key], mode: item.mode ?? mode };
  }
  return files;
}

/** The files of a downwardAPI source (fieldRef items). */
function downwardFiles(
  pod: Pod,
  items: { path: string; fieldRef?: { fieldPath: string }; mode?: number }[] | undefined,
  podIP: string,
  hostIP: string,
  mode: number | undefined,
): Record<string, PayloadFile> {
  const files: Record<string, PayloadFile> = {};
  for (const item of items ?? [])
    if (item.fieldRef)
      files[item.path] = {
        data: Buffer.from(fieldValue(pod, item.fieldRef.fieldPath, podIP, hostIP, true)),
        mode: item.mode ?? mode,
      };
  return files;
}

/** A volumeMount subPath that cannot be used safely: the container waits with kubelet's reason. */
export class SubPathError extends ConfigError {
  readonly reason = "CreateContainerConfigError";
}

/** Write one configMap/secret/downwardAPI volume; a bad item path is the pod's configuration error. */
function writeVolume(name: string, dir: string, files: Record<string, PayloadFile>): void {
  try {
    writeAtomically(dir, files);
  } catch (error) {
    if (error instanceof PayloadPathError) throw new ConfigError(`volume "${name}": ${error.message}`);
    throw error;
  }
}

async function resolveEnv(
  pod: Pod,
  c: Container,
  podIP: string,
  hostIP: string,
  sources: SourceReader,
): Promise<Record<string, string>> {
  const namespace = pod.metadata.namespace ?? "default";
  const env: Record<string, string> = {};
  const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const data = from.configMapRef
      ? await sources.configMap(namespace, ref.name ?? "")
      : await sources.secret(namespace, ref.name ?? "");
    if (!data) {
      if (ref.optional) continue;
      throw new ConfigError(`${from.configMapRef ? "configmap" : "secret"} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ""}${k}`] = text(v);
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined || !e.valueFrom) {
      env[e.name] = expand(e.value ?? "", env);
      continue;
    }
    const { configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef } = e.valueFrom;
    if (configMapKeyRef || secretKeyRef) {
      const ref = (configMapKeyRef ?? secretKeyRef)!;
      const kind = configMapKeyRef ? "configmap" : "secret";
      const data = configMapKeyRef
        ? await sources.configMap(namespace, ref.name ?? "")
        : await sources.secret(namespace, ref.name ?? "");
      if (!data || !(ref.key in data)) {
        if (ref.optional) continue;
        throw new ConfigError(
          data
            ? `couldn't find key ${ref.key} in ${kind === "configmap" ? "ConfigMap" : "Secret"} ${namespace}/${ref.name}`
            : `${kind} "${ref.name}" not found`,
        );
      }
      env[e.name] = text(data[ref.key]);
    } else if (fieldRef) env[e.name] = fieldValue(pod, fieldRef.fieldPath, podIP, hostIP, false);
    else if (resourceFieldRef)
      env[e.name] = resourceValue(
        pod,
        resourceFieldRef.containerName ?? c.name,
        resourceFieldRef.resource,
        resourceFieldRef.divisor,
      );
  }
  return env;
}

/** $(VAR) references to earlier variables, as Kubernetes expands them ($$ escapes). */
function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) =>
    match === "$$" ? "$" : name !== undefined && name in env ? env[name] : match,
  );
}

/** The downward API's field paths. */
function fieldValue(pod: Pod, path: string, podIP: string, hostIP: string, volume: boolean): string {
  const meta = pod.metadata;
  const map = (m?: Record<string, string>) =>
    Object.entries(m ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}="${v}"`)
      .join("\n");
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (sub) return (sub[1] === "labels" ? meta.labels : meta.annotations)?.[sub[2]] ?? "";
  switch (path) {
    case "metadata.name":
      return meta.name ?? "";
    case "metadata.namespace":
      return meta.namespace ?? "default";
    case "metadata.uid":
      return meta.uid ?? "";
    case "metadata.labels":
      return volume ? map(meta.labels) : "";
    case "metadata.annotations":
      return volume ? map(meta.annotations) : "";
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "";
    case "status.podIP":
      return podIP;
    case "status.hostIP":
      return hostIP;
    default:
      throw new ConfigError(`unsupported fieldRef ${path}`);
  }
}

function resourceValue(pod: Pod, containerName: string, resource: string, divisor?: string): string {
  const c = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find(
    (x) => x.name === containerName,
  );
  const [kind, name] = resource.split(".");
  const raw = (kind === "limits" ? c?.resources?.limits : c?.resources?.requests)?.[name ?? ""];
  const value = parseQuantity(raw) ?? 0;
  const div = parseQuantity(divisor) ?? 1;
  return String(Math.ceil(value / div));
}
