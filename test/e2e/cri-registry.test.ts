/**
 * Container images from Edgeplane's own registry: busybox is pushed with
 * skopeo into the Worker's /v2/ (the local control plane under Miniflare),
 * then containerd pulls it through the CRI with a pull-secret credential
 * (the registry takes the token as a Basic password) and runs it.
 */

import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeRegistryHost } from "../../node-agent/src/runtime/cri/containerd.ts";
import {
  type CriTestEnv,
  IMAGES_DIR,
  runTestPod,
  startCriTestEnv,
  testContainer,
  testSandbox,
  waitExited,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { PullError } from "../../node-agent/src/runtime/types.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const execFileP = promisify(execFile);

describe("containerd pulling from the built-in registry", () => {
  let env: CriTestEnv;
  let cp: ControlPlane;
  beforeAll(async () => {
    [env, cp] = await Promise.all([startCriTestEnv(), startControlPlane()]);
  });
  afterAll(async () => {
    await Promise.all([env?.stop(), cp?.stop()]);
  });

  it("pushes with skopeo, pulls with the token as pull secret, runs the image", async () => {
    const host = new URL(cp.url).host;
    const image = `${host}/edgeplane/busybox:1`;
    // The local control plane serves HTTPS with a self-signed certificate on a loopback port.
    await writeRegistryHost(env.containerd.paths.certsDir, {
      host,
      server: `https://${host}`,
      insecure: true,
    });
    await execFileP("skopeo", [
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--dest-creds",
      `edgeplane:${cp.token}`,
      `oci:${join(IMAGES_DIR, "oci")}:busybox`,
      `docker://${image}`,
    ]);
    const anonymous = await env.runtime.pullImage(image, { policy: "Always" }).catch((e) => e);
    expect(anonymous).toBeInstanceOf(PullError);
    const pulled = await env.runtime.pullImage(image, {
      policy: "Always",
      auth: { username: "edgeplane", password: cp.token },
    });
    expect(pulled.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const sb = testSandbox(env, "from-builtin");
    const c = testContainer(env, sb, "main", {
      image,
      command: ["sh", "-c", "echo from the built-in registry"],
    });
    const pod = await runTestPod(env, sb, [c]);
    expect(await waitExited(env, pod.containerIds[0])).toMatchObject({ exitCode: 0 });
    expect(await readFile(c.logPath, "utf8")).toMatch(/stdout F from the built-in registry\n/);
  });
});
