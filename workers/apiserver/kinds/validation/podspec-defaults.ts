/**
 * SetDefaults_PodSpec / SetDefaults_Container and friends
 * (pkg/apis/core/v1/defaults.go), shared by pods and every pod template.
 */

type Obj = Record<string, unknown>;

/** The container image's tag decides the pull policy: Always for ":latest" or no tag, else IfNotPresent. */
export function defaultPullPolicy(image: string | undefined): string {
  if (!image) return "IfNotPresent";
  if (image.includes("@")) return "IfNotPresent";
  const lastSlash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  const tag = colon > lastSlash ? image.slice(colon + 1) : "";
  return tag === "" || tag === "latest" ? "Always" : "IfNotPresent";
}

function setDefault(o: Obj, key: string, value: unknown): void {
  if (o[key] === undefined || o[key] === null) o[key] = value;
}

function defaultProbe(probe: unknown): void {
  if (!probe || typeof probe !== "object") return;
  const p = probe as Obj;
  setDefault(p, "timeoutSeconds", 1);
  setDefault(p, "periodSeconds", 10);
  setDefault(p, "successThreshold", 1);
  setDefault(p, "failureThreshold", 3);
  if (p.httpGet && typeof p.httpGet === "object") setDefault(p.httpGet as Obj, "scheme", "HTTP");
}

/** Defaults of one container (regular, init or ephemeral). */
function defaultContainer(c: Obj): void {
  setDefault(c, "imagePullPolicy", defaultPullPolicy(c.image as string | undefined));
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  setDefault(c, "resources", {});
  for (const port of (c.ports as Obj[] | undefined) ?? []) setDefault(port, "protocol", "TCP");
  for (const env of (c.env as Obj[] | undefined) ?? []) {
    const fieldRef = (env.valueFrom as Obj | undefined)?.fieldRef as Obj | undefined;
    if (fieldRef) setDefault(fieldRef, "apiVersion", "v1");
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

function defaultVolume(v: Obj): void {
  for (const source of ["configMap", "secret"]) {
    if (v[source] && typeof v[source] === "object") setDefault(v[source] as Obj, "defaultMode", 420);
  }
  if (v.hostPath && typeof v.hostPath === "object") setDefault(v.hostPath as Obj, "type", "");
}

/** Defaults of a PodSpec, as in a pod or a pod template. */
export function defaultPodSpec(spec: Obj | undefined): void {
  if (!spec || typeof spec !== "object") return;
  setDefault(spec, "restartPolicy", "Always");
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "securityContext", {});
  setDefault(spec, "schedulerName", "default-scheduler");
  setDefault(spec, "enableServiceLinks", true);
  for (const key of ["containers", "initContainers", "ephemeralContainers"]) {
    const list = spec[key];
    if (Array.isArray(list)) for (const c of list) if (c && typeof c === "object") defaultContainer(c as Obj);
  }
  if (Array.isArray(spec.volumes))
    for (const v of spec.volumes) if (v && typeof v === "object") defaultVolume(v);
}

/** Defaults of a PodTemplateSpec (workload templates). */
export function defaultPodTemplate(template: unknown): void {
  if (!template || typeof template !== "object") return;
  defaultPodSpec((template as Obj).spec as Obj | undefined);
}
