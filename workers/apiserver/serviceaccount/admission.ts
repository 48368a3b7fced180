/**
 * kube's ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount)
 * on pod creation: the pod runs as spec.serviceAccountName (default
 * "default"), which must exist; it inherits the account's imagePullSecrets
 * when it names none; and, unless automountServiceAccountToken is false on
 * the pod (or, when the pod says nothing, on the account), it gets the
 * projected kube-api-access-<5> volume (a bound token refreshed by the node,
 * the cluster CA, the namespace) mounted read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount in every container.
 * Mirror pods are left alone (NodeRestriction refuses their references).
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import type { Pod, ServiceAccount, Volume } from "../../client/types.ts";
import type { AdmissionPlugin } from "../admission/chain.ts";

/** Where kubelet and client libraries look for the token, CA and namespace. */
const TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
/** The projected volume's name prefix. */
const VOLUME_PREFIX = "kube-api-access-";
/** kube's token lifetime for the projected volume (an hour and 7 s: WarnOnlyBoundTokenExpirationSeconds). */
const PROJECTED_TOKEN_SECONDS = 3607;
/** The ConfigMap the root-CA publisher (controllers/rootca) writes in every namespace. */
const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";

const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";
/** k8s.io/apimachinery's rand.String alphabet (no vowels, no look-alikes). */
const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(5));
  return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join("");
}

/** The kube-api-access projected volume. */
function tokenVolume(name: string): Volume {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: PROJECTED_TOKEN_SECONDS, path: "token" } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
          },
        },
      ],
    },
  };
}

/** Add the token volume and its mounts (kube's mountServiceAccountToken). */
function mountToken(pod: Pod): void {
  const spec = pod.spec as NonNullable<Pod["spec"]>;
  const volumes = (spec.volumes ?? []) as Volume[];
  const existing = volumes.find((v) => v.name.startsWith(VOLUME_PREFIX) && v.projected);
  const name = existing?.name ?? `${VOLUME_PREFIX}${randomSuffix()}`;
  let used = false;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const mounts = c.volumeMounts ?? [];
    // A container that mounts something of its own there keeps it (kube skips it).
    if (mounts.some((m) => m.mountPath === TOKEN_MOUNT_PATH)) continue;
    c.volumeMounts = [...mounts, { name, readOnly: true, mountPath: TOKEN_MOUNT_PATH }];
    used = true;
  }
  if (used && !existing) spec.volumes = [...volumes, tokenVolume(name)];
}

/** Options of the plugin. */
export interface ServiceAccountAdmissionOptions {
  /** Whether pods get the token volume (false when the API server cannot issue tokens). */
  mountTokens: boolean;
}

/** The ServiceAccount admission plugin. */
export function serviceAccountAdmission(options: ServiceAccountAdmissionOptions): AdmissionPlugin {
  return {
    name: "ServiceAccount",
    async admit({ operation, info, object, registry, ctx }) {
      if (operation !== "CREATE" || info.group !== "" || info.resource !== "pods" || ctx.subresource) return;
      const pod = object as Pod & KubeObject;
      if (pod.metadata?.annotations?.[MIRROR_ANNOTATION] !== undefined) return;
      const spec = (pod.spec ?? {}) as NonNullable<Pod["spec"]>;
      pod.spec = spec;
      spec.serviceAccountName ||= "default";
      const name = spec.serviceAccountName;
      const namespace = pod.metadata?.namespace;
      const accounts = registry.lookup("", "serviceaccounts");
      const sa = accounts
        ? ((await registry.get(accounts, namespace, name).catch(() => undefined)) as
            | ServiceAccount
            | undefined)
        : undefined;
      // kube refuses a pod whose account does not exist. "default" is let through: the ServiceAccount
      // controller creates it right after the namespace, and the node waits for it before the token.
      if (!sa && name !== "default")
        throw new ApiError(
          "Forbidden",
          `pods "${pod.metadata?.name ?? ""}" is forbidden: error looking up service account ${namespace}/${name}: serviceaccount "${name}" not found`,
        );
      if (sa?.imagePullSecrets?.length && !spec.imagePullSecrets?.length)
        spec.imagePullSecrets = sa.imagePullSecrets.map((s) => ({ name: s.name }));
      const automount = spec.automountServiceAccountToken ?? sa?.automountServiceAccountToken ?? true;
      if (options.mountTokens && automount) mountToken(pod);
    },
  };
}
