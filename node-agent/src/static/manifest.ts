/**
 * A static pod manifest turned into the pod the agent runs, as the kubelet's
 * file source does (pkg/kubelet/config/file.go, common.go applyDefaults): one
 * Pod per file; the name gets "-<nodeName>"; namespace defaults to
 * "default"; spec.nodeName is this node; the UID is a hash of the content,
 * the node and the file path (so a changed file is a new pod, and the same
 * file on a restarted agent is the same pod, whose sandbox is adopted); the
 * config.source/hash/seen annotations mark it; a NoExecute toleration keeps
 * it from being evicted for node problems.
 */
import { createHash } from "node:crypto";
import { parse } from "yaml";
import type { Pod } from "../pod/k8s.ts";

/** kubetypes.ConfigSourceAnnotationKey: where a pod came from ("file" here). */
export const SOURCE_ANNOTATION = "kubernetes.io/config.source";
/** kubetypes.ConfigHashAnnotationKey: the static pod's content hash (also its UID). */
export const HASH_ANNOTATION = "kubernetes.io/config.hash";
/** kubetypes.ConfigFirstSeenAnnotationKey: when the agent first saw this version. */
export const SEEN_ANNOTATION = "kubernetes.io/config.seen";
/** kubetypes.ConfigMirrorAnnotationKey: on the API's copy (mirror pod), the static pod's hash. */
export const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

/** File names the source reads: YAML or JSON, not hidden (editors' swap files start with a dot). */
export function isManifestName(name: string): boolean {
  return !name.startsWith(".") && /\.(ya?ml|json)$/i.test(name);
}

/** core/v1 Toleration, as far as the defaults look at it. */
interface Toleration {
  key?: string;
  operator?: string;
  effect?: string;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Whether a pod is the API's copy of some node's static pod (the agent never runs those itself). */
export function isMirrorPod(pod: Pod): boolean {
  return pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined;
}

/**
 * The static pod a manifest describes, or a thrown Error saying what is wrong with it (the API server
 * validates the rest when the mirror pod is created). `seen` is the time stamped into config.seen.
 */
export function parseManifest(text: string, file: string, nodeName: string, seen: Date): Pod {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new Error(`not YAML or JSON: ${(error as Error).message.split("\n")[0]}`);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Error("not an object");
  const pod = doc as Pod & { apiVersion?: unknown; kind?: unknown };
  if (pod.kind !== "Pod" || pod.apiVersion !== "v1")
    throw new Error(`want apiVersion v1, kind Pod; got ${String(pod.apiVersion)}, ${String(pod.kind)}`);
  const meta = pod.metadata;
  if (!meta || typeof meta !== "object") throw new Error("metadata is required");
  if (typeof meta.name !== "string" || !DNS_SUBDOMAIN.test(meta.name))
    throw new Error(`metadata.name ${JSON.stringify(meta.name)} is not a DNS subdomain`);
  if (meta.namespace !== undefined && (typeof meta.namespace !== "string" || !DNS_LABEL.test(meta.namespace)))
    throw new Error(`metadata.namespace ${JSON.stringify(meta.namespace)} is not a DNS label`);
  const containers = pod.spec?.containers;
  if (!Array.isArray(containers) || !containers.length) throw new Error("spec.containers must not be empty");
  for (const [i, c] of containers.entries())
    if (!c || typeof c.name !== "string" || typeof c.image !== "string" || !c.image)
      throw new Error(`spec.containers[${i}] needs a name and an image`);

  const uid =
    meta.uid ??
    createHash("md5")
      .update(JSON.stringify(doc))
      .update(`host:${nodeName}`)
      .update(`file:${file}`)
      .digest("hex");
  const name = `${meta.name}-${nodeName.toLowerCase()}`;
  if (name.length > 253) throw new Error(`metadata.name ${name} is longer than 253 characters`);
  const spec: Pod["spec"] & { tolerations?: Toleration[] } = { ...pod.spec, nodeName };
  const tolerations = [...(spec.tolerations ?? [])];
  if (!tolerations.some((t) => t.operator === "Exists" && !t.key && t.effect === "NoExecute"))
    tolerations.push({ operator: "Exists", effect: "NoExecute" });
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...meta,
      name,
      namespace: meta.namespace ?? "default",
      uid,
      annotations: {
        ...meta.annotations,
        [SOURCE_ANNOTATION]: "file",
        [HASH_ANNOTATION]: uid,
        [SEEN_ANNOTATION]: seen.toISOString(),
      },
    },
    spec: Object.assign(spec, { tolerations }),
    status: { phase: "Pending" },
  };
}
