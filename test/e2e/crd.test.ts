/**
 * CustomResourceDefinitions with real kubectl (the oldest and newest we
 * support) against the real Worker under workerd: apply a CRD, wait for
 * Established, create/get/list/watch/patch/scale/delete custom resources,
 * printer columns, explain, schema errors, pruning vs strict validation,
 * server-side apply, a large real-world-shaped CRD, and deleting the CRD
 * removing its objects (the customresourcecleanup controller).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { largeCRD, largeObject } from "../../bench/crd/fixture.ts";
import { type ControlPlane, type KubectlVersion, startControlPlane } from "./harness.ts";

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
});

afterAll(async () => {
  await cp?.stop();
});

/** The documentation's CronTab CRD, in its own group per kubectl version (names are cluster-wide). */
function cronTabCRD(group: string, short: string): string {
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.${group}
spec:
  group: ${group}
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [${short}]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: The desired schedule.
            properties:
              cronSpec:
                type: string
                pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'
              image:
                type: string
              replicas:
                type: integer
                minimum: 1
                maximum: 10
                default: 1
          status:
            type: object
            properties:
              replicas: {type: integer}
              labelSelector: {type: string}
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.labelSelector
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Image, type: string, jsonPath: .spec.image, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
`;
}

function cronTab(
  group: string,
  name: string,
  spec = "cronSpec: '* * * * */5'\n  image: my-cron-image",
): string {
  return `apiVersion: ${group}/v1
kind: CronTab
metadata:
  name: ${name}
spec:
  ${spec}
`;
}

describe.each(["1.27", "1.33"] as KubectlVersion[])("CRDs with kubectl %s", (version) => {
  const tag = version.replace(".", "");
  const group = `v${tag}.stable.example.com`;
  const short = `ct${tag}`;
  const ns = `crd-${tag}`;
  const k = (args: string[], input?: string) => cp.kubectl(args, { version, input, timeoutMs: 60_000 });
  const ok = async (args: string[], input?: string) => {
    const result = await k(args, input);
    expect(result.code, `kubectl ${args.join(" ")}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };

  it("applies a CRD and waits for it to be established; discovery lists it", async () => {
    await ok(["apply", "-f", "-"], cronTabCRD(group, short));
    await ok(["wait", "--for=condition=established", `crd/crontabs.${group}`, "--timeout=30s"]);
    const crdTable = await ok(["get", "crd", `crontabs.${group}`]);
    expect(crdTable).toMatch(/^NAME\s+CREATED AT$/m);
    expect(crdTable).toContain(`crontabs.${group}`);
    expect(crdTable).toMatch(/\s\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    const resources = await ok(["api-resources", `--api-group=${group}`]);
    expect(resources).toMatch(new RegExp(`^crontabs\\s+${short}\\s+${group}/v1\\s+true\\s+CronTab$`, "m"));
    await ok(["create", "namespace", ns]);
  });

  it("creates, gets with printer columns, lists in 'all', and explains custom resources", async () => {
    await ok(["-n", ns, "apply", "-f", "-"], cronTab(group, "my-crontab"));
    const table = await ok(["-n", ns, "get", short]);
    expect(table).toMatch(/^NAME\s+SPEC\s+REPLICAS\s+AGE$/m);
    expect(table).toMatch(/^my-crontab\s+\* \* \* \* \*\/5\s+1\s+\d+s$/m);
    const wide = await ok(["-n", ns, "get", short, "-o", "wide"]);
    expect(wide).toMatch(/^NAME\s+SPEC\s+REPLICAS\s+IMAGE\s+AGE$/m);
    expect(wide).toContain("my-cron-image");
    expect(await ok(["-n", ns, "get", "all"])).toContain(`crontab.${group}/my-crontab`);
    const object = JSON.parse(await ok(["-n", ns, "get", `crontab.${group}`, "my-crontab", "-o", "json"]));
    expect(object.spec).toEqual({ cronSpec: "* * * * */5", image: "my-cron-image", replicas: 1 });
    // Client-side apply again: kubectl sends a JSON merge patch for custom resources.
    await ok(
      ["-n", ns, "apply", "-f", "-"],
      cronTab(group, "my-crontab", "cronSpec: '* * * * */5'\n  image: my-cron-image:2"),
    );
    const reapplied = JSON.parse(await ok(["-n", ns, "get", short, "my-crontab", "-o", "json"]));
    expect(reapplied.spec.image).toBe("my-cron-image:2");
    expect(reapplied.metadata.generation).toBe(2);
    const explained = await ok(["explain", `crontabs.${group}.spec`]);
    expect(explained).toMatch(/replicas\s+<integer>/);
    expect(explained).toContain("cronSpec");
  });

  it("rejects schema violations with kube's field errors", async () => {
    const bad = await k(
      ["-n", ns, "apply", "-f", "-"],
      cronTab(group, "bad", "cronSpec: nope\n  replicas: 0"),
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(
      "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
    );
    expect(bad.stderr).toContain('spec.cronSpec: Invalid value: "nope": spec.cronSpec in body should match');
  });

  it("refuses unknown fields under strict validation, and prunes them with --validate=false", async () => {
    const withUnknown = cronTab(group, "pruned", "cronSpec: '* * * * *'\n  bogus: 1");
    const strict = await k(["-n", ns, "apply", "-f", "-"], withUnknown);
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain('unknown field "spec.bogus"');
    await ok(["-n", ns, "apply", "--validate=false", "-f", "-"], withUnknown);
    const object = JSON.parse(await ok(["-n", ns, "get", short, "pruned", "-o", "json"]));
    expect(object.spec).toEqual({ cronSpec: "* * * * *", replicas: 1 });
  });

  it("scales through the scale subresource, patches status alone, and merge-patches spec", async () => {
    await ok(["-n", ns, "scale", `${short}/my-crontab`, "--replicas=3"]);
    expect(await ok(["-n", ns, "get", short, "my-crontab", "-o", "jsonpath={.spec.replicas}"])).toBe("3");
    await ok([
      "-n",
      ns,
      "patch",
      short,
      "my-crontab",
      "--subresource=status",
      "--type=merge",
      "-p",
      '{"status":{"replicas":3,"labelSelector":"app=cron"}}',
    ]);
    const scale = JSON.parse(
      await ok(["get", "--raw", `/apis/${group}/v1/namespaces/${ns}/crontabs/my-crontab/scale`]),
    );
    expect(scale).toMatchObject({ spec: { replicas: 3 }, status: { replicas: 3, selector: "app=cron" } });
    await ok(["-n", ns, "patch", short, "my-crontab", "--type=merge", "-p", '{"spec":{"image":"v2"}}']);
    const object = JSON.parse(await ok(["-n", ns, "get", short, "my-crontab", "-o", "json"]));
    expect(object.spec.image).toBe("v2");
    expect(object.status).toEqual({ replicas: 3, labelSelector: "app=cron" });
  });

  it("applies server-side and watches custom resources", async () => {
    await ok(["-n", ns, "apply", "-f", "-"], cronTab(group, "watched"));
    const watch = cp.kubectlStream(["-n", ns, "get", short, "-w", "--output-watch-events"], { version });
    try {
      await watch.waitFor(/watched/);
      await ok(
        ["-n", ns, "apply", "--server-side", "--field-manager=e2e", "-f", "-"],
        cronTab(group, "ssa", "cronSpec: '1 * * * *'\n  replicas: 2"),
      );
      await watch.waitFor(/ADDED\s+ssa\s/);
    } finally {
      await watch.stop();
    }
    const object = JSON.parse(
      await ok(["-n", ns, "get", short, "ssa", "-o", "json", "--show-managed-fields"]),
    );
    expect(object.spec.replicas).toBe(2);
    expect(object.metadata.managedFields.map((f: { manager: string }) => f.manager)).toContain("e2e");
    await ok(["-n", ns, "delete", short, "ssa"]);
    expect((await k(["-n", ns, "get", short, "ssa"])).stderr).toContain("NotFound");
  });

  it("applies and validates a large CRD modelled on a real operator's", async () => {
    const crd = largeCRD(`v${tag}.monitoring.example.com`);
    await ok(["apply", "--server-side", "-f", "-"], JSON.stringify(crd));
    await ok(["wait", "--for=condition=established", `crd/${crd.metadata.name}`, "--timeout=30s"]);
    const object = largeObject(`v${tag}.monitoring.example.com`, "big", ns);
    await ok(["apply", "-f", "-"], JSON.stringify(object));
    const stored = JSON.parse(
      await ok(["-n", ns, "get", `prometheuses.v${tag}.monitoring.example.com`, "big", "-o", "json"]),
    );
    expect(stored.spec.containers.length).toBe(object.spec.containers.length);
    const broken = structuredClone(object);
    broken.metadata.name = "broken";
    broken.spec.containers[0].ports[0].containerPort = 70000;
    const refused = await k(["apply", "-f", "-"], JSON.stringify(broken));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      "spec.containers[0].ports[0].containerPort: Invalid value: 70000: spec.containers[0].ports[0].containerPort in body should be less than or equal to 65535",
    );
    await ok(["delete", "crd", crd.metadata.name]);
  });

  it("deleting the CRD deletes its custom resources, then the CRD", async () => {
    await ok(["delete", "crd", `crontabs.${group}`, "--timeout=60s"]);
    expect((await k(["get", "crd", `crontabs.${group}`])).stderr).toContain("NotFound");
    const raw = await cp.fetch(`/apis/${group}/v1/namespaces/${ns}/crontabs`);
    expect(raw.status).toBe(404);
    // Re-created, the definition starts empty: the old objects are gone from the store.
    await ok(["apply", "-f", "-"], cronTabCRD(group, short));
    await ok(["wait", "--for=condition=established", `crd/crontabs.${group}`, "--timeout=30s"]);
    const list = JSON.parse(await ok(["get", `crontabs.${group}`, "-A", "-o", "json"]));
    expect(list.items).toEqual([]);
    await ok(["delete", "crd", `crontabs.${group}`, "--timeout=60s"]);
  });
});
