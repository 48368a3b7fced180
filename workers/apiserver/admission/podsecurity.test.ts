import { describe, expect, it } from "vitest";
import { RESOURCES } from "../kinds/index.ts";
import { testServer } from "../testing/fixture.ts";
import { evaluatePod, forbiddenDetail, type LevelVersion, policyFor } from "./podsecurity.ts";
import type { PsaPodSpec } from "./podsecurity-checks.ts";

const BASELINE: LevelVersion = { level: "baseline", version: "latest" };
const RESTRICTED: LevelVersion = { level: "restricted", version: "latest" };

/** A restricted-clean container, to which each case adds one thing. */
const clean = {
  name: "c",
  image: "busybox",
  securityContext: {
    allowPrivilegeEscalation: false,
    runAsNonRoot: true,
    seccompProfile: { type: "RuntimeDefault" },
    capabilities: { drop: ["ALL"] },
  },
};

function withContainer(extra: Record<string, unknown>, spec: PsaPodSpec = {}): PsaPodSpec {
  return {
    ...spec,
    containers: [
      {
        ...clean,
        ...extra,
        securityContext: { ...clean.securityContext, ...(extra.securityContext as object) },
      },
    ],
  };
}

describe("Pod Security Standards checks", () => {
  // Each row: the spec, the level, and kube's text for the one violation it has.
  const cases: [string, PsaPodSpec, LevelVersion, string, Record<string, string>?][] = [
    [
      "host namespaces",
      withContainer({}, { hostNetwork: true, hostPID: true }),
      BASELINE,
      "host namespaces (hostNetwork=true, hostPID=true)",
    ],
    [
      "privileged",
      withContainer({ securityContext: { privileged: true } }),
      BASELINE,
      'privileged (container "c" must not set securityContext.privileged=true)',
    ],
    [
      "capabilities beyond baseline",
      withContainer({ securityContext: { capabilities: { add: ["SYS_ADMIN", "NET_ADMIN", "CHOWN"] } } }),
      BASELINE,
      'non-default capabilities (container "c" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add)',
    ],
    [
      "hostPath",
      { ...withContainer({}), volumes: [{ name: "h", hostPath: { path: "/" } }] },
      BASELINE,
      'hostPath volumes (volume "h")',
    ],
    [
      "hostPort",
      withContainer({ ports: [{ containerPort: 80, hostPort: 8080 }] }),
      BASELINE,
      'hostPort (container "c" uses hostPort 8080)',
    ],
    [
      "procMount",
      withContainer({ securityContext: { procMount: "Unmasked" } }),
      BASELINE,
      'procMount (container "c" must not set securityContext.procMount to "Unmasked")',
    ],
    [
      "seLinux",
      withContainer({ securityContext: { seLinuxOptions: { type: "spc_t" } } }),
      BASELINE,
      'seLinuxOptions (container "c" set forbidden securityContext.seLinuxOptions: type "spc_t")',
    ],
    [
      "seccomp Unconfined",
      withContainer({ securityContext: { seccompProfile: { type: "Unconfined" } } }),
      BASELINE,
      'seccompProfile (container "c" must not set securityContext.seccompProfile.type to "Unconfined")',
    ],
    [
      "sysctls",
      withContainer(
        {},
        { securityContext: { sysctls: [{ name: "kernel.msgmax" }, { name: "net.ipv4.tcp_syncookies" }] } },
      ),
      BASELINE,
      "forbidden sysctls (kernel.msgmax)",
    ],
    [
      "AppArmor",
      withContainer({ securityContext: { appArmorProfile: { type: "Unconfined" } } }),
      BASELINE,
      'forbidden AppArmor profile (container "c" must not set AppArmor profile type to "Unconfined")',
    ],
    [
      "AppArmor annotation",
      withContainer({}),
      BASELINE,
      'forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/c=\\"unconfined\\"")',
      { "container.apparmor.security.beta.kubernetes.io/c": "unconfined" },
    ],
    [
      "hostProcess",
      withContainer({ securityContext: { windowsOptions: { hostProcess: true } } }),
      BASELINE,
      'hostProcess (container "c" must not set securityContext.windowsOptions.hostProcess=true)',
    ],
    [
      "probe host",
      withContainer({ livenessProbe: { httpGet: { host: "10.0.0.1", port: 80 } } }),
      BASELINE,
      'probe or lifecycle host (container "c" uses probe or lifecycle host "10.0.0.1")',
    ],
    [
      "escalation",
      withContainer({ securityContext: { allowPrivilegeEscalation: true } }),
      RESTRICTED,
      'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)',
    ],
    [
      "restricted capabilities",
      withContainer({
        securityContext: { capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE", "CHOWN"] } },
      }),
      RESTRICTED,
      'unrestricted capabilities (container "c" must not include "CHOWN" in securityContext.capabilities.add)',
    ],
    [
      "volume types",
      {
        ...withContainer({}),
        volumes: [
          { name: "v", hostPath: { path: "/x" } },
          { name: "ok", emptyDir: {} },
        ],
      },
      RESTRICTED,
      'restricted volume types (volume "v" uses restricted volume type "hostPath")',
    ],
    [
      "runAsNonRoot",
      withContainer({ securityContext: { runAsNonRoot: false } }),
      RESTRICTED,
      'runAsNonRoot != true (container "c" must not set securityContext.runAsNonRoot=false)',
    ],
    [
      "runAsUser 0",
      withContainer({ securityContext: { runAsUser: 0 } }),
      RESTRICTED,
      'runAsUser=0 (container "c" must not set runAsUser=0)',
    ],
    [
      "seccomp unset",
      {
        containers: [{ ...clean, securityContext: { ...clean.securityContext, seccompProfile: undefined } }],
      },
      RESTRICTED,
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    ],
  ];
  it.each(cases)("%s", (_name, spec, lv, text, annotations) => {
    expect(forbiddenDetail(evaluatePod(lv, annotations, spec))).toBe(text);
  });

  it("a restricted-clean pod passes every level; a bare pod passes baseline and lists restricted's reasons in kube's order", () => {
    expect(evaluatePod(RESTRICTED, {}, withContainer({}))).toEqual([]);
    const bare = { containers: [{ name: "app", image: "x" }] };
    expect(evaluatePod(BASELINE, {}, bare)).toEqual([]);
    expect(evaluatePod(RESTRICTED, {}, bare).map((r) => r.reason)).toEqual([
      "allowPrivilegeEscalation != false",
      "unrestricted capabilities",
      "runAsNonRoot != true",
      "seccompProfile",
    ]);
  });

  it("versions gate checks that came later (probe hosts from v1.34) and sysctls made safe later (tcp_rmem from v1.32)", () => {
    const spec = withContainer({ livenessProbe: { httpGet: { host: "h" } } });
    expect(evaluatePod({ level: "baseline", version: "v1.33" }, {}, spec)).toEqual([]);
    expect(evaluatePod({ level: "baseline", version: "v1.34" }, {}, spec)).toHaveLength(1);
    const rmem = withContainer({}, { securityContext: { sysctls: [{ name: "net.ipv4.tcp_rmem" }] } });
    expect(forbiddenDetail(evaluatePod({ level: "baseline", version: "v1.31" }, {}, rmem))).toBe(
      "forbidden sysctls (net.ipv4.tcp_rmem)",
    );
    expect(evaluatePod({ level: "baseline", version: "v1.32" }, {}, rmem)).toEqual([]);
    expect(evaluatePod(BASELINE, {}, rmem)).toEqual([]);
  });

  it("labels select levels per mode; the default fills the gaps; bad values fail closed with field errors", () => {
    expect(policyFor(undefined, "baseline").policy).toEqual({
      enforce: BASELINE,
      warn: BASELINE,
      audit: BASELINE,
    });
    const p = policyFor(
      {
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/audit-version": "v1.30",
      },
      "baseline",
    ).policy;
    expect(p.enforce.level).toBe("privileged");
    expect(p.warn.level).toBe("privileged");
    expect(p.audit).toEqual({ level: "baseline", version: "v1.30" });
    const bad = policyFor({ "pod-security.kubernetes.io/enforce": "nope" }, "privileged");
    expect(bad.policy.enforce.level).toBe("restricted");
    expect(bad.errors[0].field).toBe("metadata.labels[pod-security.kubernetes.io/enforce]");
  });
});

const pod = (name: string, spec: Record<string, unknown>, namespace = "default") => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace },
  spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
});

const namespace = (name: string, labels: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});

describe("Pod Security Admission in the API server", () => {
  it("enforces the cluster default (baseline) with kube's 403 message", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const r = await call(
      "POST",
      "/api/v1/namespaces/default/pods",
      pod("p", { hostNetwork: true, volumes: [{ name: "root", hostPath: { path: "/" } }] }),
    );
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({
      kind: "Status",
      reason: "Forbidden",
      code: 403,
      details: { name: "p", kind: "pods" },
      message:
        'pods "p" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), hostPath volumes (volume "root")',
    });
    expect((await call("GET", "/api/v1/namespaces/default/pods/p")).status).toBe(404);
    expect((await call("POST", "/api/v1/namespaces/default/pods", pod("plain", {}))).status).toBe(201);
  });

  it("the configured default applies, and a namespace opts in with enforce=privileged", async () => {
    const open = testServer({ resources: RESOURCES, podSecurityDefault: "privileged" });
    expect(
      (await open.call("POST", "/api/v1/namespaces/default/pods", pod("p", { hostPID: true }))).status,
    ).toBe(201);
    const { call } = testServer({ resources: RESOURCES });
    await call(
      "POST",
      "/api/v1/namespaces",
      namespace("sys", { "pod-security.kubernetes.io/enforce": "privileged" }),
    );
    const r = await call("POST", "/api/v1/namespaces/sys/pods", pod("p", { hostPID: true }, "sys"));
    expect(r.status).toBe(201);
    expect(r.headers.get("Warning")).toBeNull();
  });

  it("warn returns kube's Warning header and creates the pod", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await call(
      "POST",
      "/api/v1/namespaces",
      namespace("w", { "pod-security.kubernetes.io/warn": "restricted" }),
    );
    const r = await call("POST", "/api/v1/namespaces/w/pods", pod("p", {}, "w"));
    expect(r.status).toBe(201);
    expect(r.headers.get("Warning")).toBe(
      `299 - ${JSON.stringify('would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')}`,
    );
  });

  it("workloads are created with a warning for a template the enforce level would refuse", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const deploy = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: {
        selector: { matchLabels: { app: "d" } },
        template: {
          metadata: { labels: { app: "d" } },
          spec: { containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] },
        },
      },
    };
    const r = await call("POST", "/apis/apps/v1/namespaces/default/deployments", deploy);
    expect(r.status).toBe(201);
    expect(r.headers.get("Warning")).toContain(
      'would violate PodSecurity \\"baseline:latest\\": privileged (container \\"c\\" must not set securityContext.privileged=true)',
    );
  });

  it("pod updates that change an image are checked against the current level; other updates are not", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await call(
      "POST",
      "/api/v1/namespaces",
      namespace("u", { "pod-security.kubernetes.io/enforce": "privileged" }),
    );
    await call("POST", "/api/v1/namespaces/u/pods", pod("p", { hostIPC: true }, "u"));
    const tighten = await call(
      "PATCH",
      "/api/v1/namespaces/u",
      { metadata: { labels: { "pod-security.kubernetes.io/enforce": "baseline" } } },
      { "Content-Type": "application/merge-patch+json" },
    );
    expect(tighten.status).toBe(200);
    expect(tighten.headers.get("Warning")).toContain(
      'existing pods in namespace \\"u\\" violate the new PodSecurity enforce level \\"baseline:latest\\"',
    );
    expect(tighten.headers.get("Warning")).toContain("p: host namespaces");
    const merge = { "Content-Type": "application/merge-patch+json" };
    expect(
      (await call("PATCH", "/api/v1/namespaces/u/pods/p", { metadata: { labels: { a: "b" } } }, merge))
        .status,
    ).toBe(200);
    const image = await call(
      "PATCH",
      "/api/v1/namespaces/u/pods/p",
      { spec: { containers: [{ name: "c", image: "nginx" }] } },
      { "Content-Type": "application/strategic-merge-patch+json" },
    );
    expect(image.status).toBe(403);
    expect(image.body.message).toContain(
      'violates PodSecurity "baseline:latest": host namespaces (hostIPC=true)',
    );
  });

  it("invalid pod-security labels on a namespace are 422 Invalid", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const r = await call(
      "POST",
      "/api/v1/namespaces",
      namespace("bad", { "pod-security.kubernetes.io/enforce-version": "2" }),
    );
    expect(r.status).toBe(422);
    expect(r.body.reason).toBe("Invalid");
  });
});
