/**
 * Pod networking through CNI (bridge + host-local + portmap) under real
 * containerd: every pod gets its own IP from the node's pod CIDR, pods reach
 * each other and the node reaches them by pod IP, hostPort maps onto the
 * node, and the sandbox carries the pod's hostname and DNS settings.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cniConflist, parseCidr } from "../../node-agent/src/network/cni.ts";
import {
  type CriTestEnv,
  freePort,
  runTestPod,
  startCriTestEnv,
  testContainer,
  testSandbox,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";

describe("CNI config", () => {
  it("uses bridge + host-local on the pod CIDR with the first address as gateway, plus portmap", () => {
    expect(parseCidr("10.244.3.17/24")).toEqual({ network: "10.244.3.0", prefix: 24, gateway: "10.244.3.1" });
    expect(() => parseCidr("10.244.3.0/33")).toThrow(/prefix/);
    expect(() => parseCidr("10.244.300.0/24")).toThrow(/invalid/);
    expect(() => parseCidr("10.0.0.0/4")).toThrow(/prefix/);
    const conf = cniConflist({ confDir: "/x", podCidr: "10.244.3.0/24", bridge: "br-test" }) as {
      plugins: Record<string, unknown>[];
    };
    expect(conf.plugins.map((p) => p.type)).toEqual(["bridge", "portmap"]);
    expect(conf.plugins[0]).toMatchObject({
      bridge: "br-test",
      isGateway: true,
      ipMasq: false,
      ipam: { type: "host-local", ranges: [[{ subnet: "10.244.3.0/24", gateway: "10.244.3.1" }]] },
    });
    expect(() =>
      cniConflist({ confDir: "/x", podCidr: "10.244.3.0/24", bridge: "a-name-that-is-too-long" }),
    ).toThrow(/bridge/);
  });
});

describe("pod networking on containerd + CNI", () => {
  let env: CriTestEnv;
  beforeAll(async () => {
    env = await startCriTestEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("gives pods their own IPs; one pod reaches another by pod IP, and the node reaches it too", async () => {
    const serverSb = testSandbox(env, "web");
    const server = await runTestPod(env, serverSb, [
      testContainer(env, serverSb, "httpd", { command: ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"] }),
    ]);
    const clientSb = testSandbox(env, "client");
    const client = await runTestPod(env, clientSb, [
      testContainer(env, clientSb, "main", { command: ["sleep", "3600"] }),
    ]);
    expect(server.ip).toBeTruthy();
    expect(client.ip).toBeTruthy();
    expect(server.ip).not.toBe(client.ip);
    const subnet = env.podCidr.split(".").slice(0, 3).join(".");
    expect(server.ip!.startsWith(`${subnet}.`)).toBe(true);

    const res = await waitFor(
      async () => {
        const r = await env.runtime.execSync(
          client.containerIds[0],
          ["wget", "-q", "-O", "-", `http://${server.ip}:8080/`],
          5,
        );
        return r.exitCode === 0 ? r : undefined;
      },
      15_000,
      "wget from the client pod",
    );
    expect(Buffer.from(res.stdout).toString()).toBe("hello from edgeplane busybox\n");
    // The client's own address as the server saw it: traffic went pod to pod, not through NAT.
    const ifaces = await env.runtime.execSync(
      client.containerIds[0],
      ["ip", "-4", "-o", "addr", "show", "eth0"],
      5,
    );
    expect(Buffer.from(ifaces.stdout).toString()).toContain(`${client.ip}/24`);

    const fromNode = await fetch(`http://${server.ip}:8080/`);
    expect(await fromNode.text()).toBe("hello from edgeplane busybox\n");
  });

  it("maps a hostPort onto the node through portmap", async () => {
    const hostPort = await freePort();
    const sb = testSandbox(env, "hostport", {
      ports: [{ containerPort: 8080, hostPort, protocol: "TCP" }],
    });
    await runTestPod(env, sb, [
      testContainer(env, sb, "httpd", { command: ["httpd", "-f", "-p", "8080", "-h", "/www"] }),
    ]);
    const gateway = parseCidr(env.podCidr).gateway;
    const text = await waitFor(
      async () =>
        (await fetch(`http://${gateway}:${hostPort}/`, { signal: AbortSignal.timeout(2_000) })).text(),
      15_000,
      "the hostPort",
    );
    expect(text).toBe("hello from edgeplane busybox\n");
  });

  it("sets the pod's hostname and DNS config", async () => {
    const sb = testSandbox(env, "dns", {
      hostname: "my-pod-host",
      dns: {
        servers: ["10.96.0.10"],
        searches: ["default.svc.cluster.local", "svc.cluster.local"],
        options: ["ndots:5"],
      },
    });
    const pod = await runTestPod(env, sb, [testContainer(env, sb, "main", { command: ["sleep", "3600"] })]);
    const id = pod.containerIds[0];
    const host = await env.runtime.execSync(id, ["hostname"], 5);
    expect(Buffer.from(host.stdout).toString().trim()).toBe("my-pod-host");
    const resolv = Buffer.from(
      (await env.runtime.execSync(id, ["cat", "/etc/resolv.conf"], 5)).stdout,
    ).toString();
    expect(resolv).toContain("nameserver 10.96.0.10");
    expect(resolv).toContain("search default.svc.cluster.local svc.cluster.local");
    expect(resolv).toContain("options ndots:5");
  });
});
