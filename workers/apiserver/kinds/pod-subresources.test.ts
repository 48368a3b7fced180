import { describe, expect, it } from "vitest";
import type { PlatformServices, PodExecService, PodLogsService } from "../platform.ts";
import { testServer } from "../testing/fixture.ts";
import { RESOURCES } from "./index.ts";

const PODS = "/api/v1/namespaces/default/pods";

async function withPod(services: PlatformServices = {}, containers = [{ name: "main", image: "nginx" }]) {
  const server = testServer({ resources: RESOURCES, services });
  const created = await server.call("POST", PODS, { metadata: { name: "p" }, spec: { containers } });
  expect(created.status, created.text).toBe(201);
  return server;
}

const binding = (node: string) => ({
  apiVersion: "v1",
  kind: "Binding",
  metadata: { name: "p" },
  target: { kind: "Node", name: node },
});

describe("pods/binding", () => {
  it("binds once, marks the pod scheduled, and answers 409 when already bound", async () => {
    const { call } = await withPod();
    const bound = await call("POST", `${PODS}/p/binding`, binding("n1"));
    expect(bound.status, bound.text).toBe(201);
    const pod = await call("GET", `${PODS}/p`);
    expect((pod.body.spec as { nodeName: string }).nodeName).toBe("n1");
    const conditions = (pod.body.status as { conditions: { type: string; status: string }[] }).conditions;
    expect(conditions).toContainEqual(expect.objectContaining({ type: "PodScheduled", status: "True" }));
    const again = await call("POST", `${PODS}/p/binding`, binding("n2"));
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe("Conflict");
    expect(String(again.body.message)).toMatch(/already assigned to node "n1"/);
  });

  it("requires a target node and a pod that exists", async () => {
    const { call } = await withPod();
    const invalid = await call("POST", `${PODS}/p/binding`, { metadata: { name: "p" }, target: {} });
    expect(invalid.status).toBe(422);
    const missing = await call("POST", `${PODS}/nope/binding`, binding("n1"));
    expect(missing.status).toBe(404);
  });
});

describe("pods/eviction", () => {
  it("deletes the pod as a DELETE would (graceful once bound)", async () => {
    const { call } = await withPod();
    await call("POST", `${PODS}/p/binding`, binding("n1"));
    const evicted = await call("POST", `${PODS}/p/eviction`, {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "p" },
    });
    expect(evicted.status, evicted.text).toBe(201);
    const pod = await call("GET", `${PODS}/p`);
    expect(pod.body.metadata?.deletionTimestamp).toBeTruthy();
    expect(pod.body.metadata?.deletionGracePeriodSeconds).toBe(30);
  });

  it("removes an unscheduled pod at once", async () => {
    const { call } = await withPod();
    const evicted = await call("POST", `${PODS}/p/eviction`, {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "p" },
    });
    expect(evicted.status).toBe(201);
    expect((await call("GET", `${PODS}/p`)).status).toBe(404);
  });
});

describe("pods/log, exec, attach, portforward", () => {
  it("answers ServiceUnavailable without a log service, and streams through it when present", async () => {
    const bare = await withPod();
    await bare.call("POST", `${PODS}/p/binding`, binding("n1"));
    const unavailable = await bare.call("GET", `${PODS}/p/log`);
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.reason).toBe("ServiceUnavailable");

    const seen: string[] = [];
    const podLogs: PodLogsService = async ({ name, container, query }) => {
      seen.push(`${name}/${container}/${query.get("tailLines")}`);
      return new Response("hello\n", { headers: { "Content-Type": "text/plain" } });
    };
    const served = await withPod({ podLogs });
    await served.call("POST", `${PODS}/p/binding`, binding("n1"));
    const log = await served.call("GET", `${PODS}/p/log?tailLines=5`);
    expect(log.status).toBe(200);
    expect(log.text).toBe("hello\n");
    expect(seen).toEqual(["p/main/5"]);
    // The services are typed (platform.ts), not cast: one of another shape does not compile.
    // @ts-expect-error podLogs answers a Promise<Response>, not a string
    testServer({ resources: RESOURCES, services: { podLogs: async () => "hello" } });
  });

  it("needs a container name when the pod has several, and rejects unknown ones", async () => {
    const { call } = await withPod({}, [
      { name: "a", image: "x" },
      { name: "b", image: "x" },
    ]);
    const ambiguous = await call("GET", `${PODS}/p/log`);
    expect(ambiguous.status).toBe(400);
    expect(String(ambiguous.body.message)).toMatch(/choose one of: \[a b\]/);
    const unknown = await call("GET", `${PODS}/p/log?container=zzz`);
    expect(unknown.status).toBe(400);
  });

  it("explains that exec needs a WebSocket, and delegates to podExec when present", async () => {
    const bare = await withPod();
    await bare.call("POST", `${PODS}/p/binding`, binding("n1"));
    const spdy = await bare.call("POST", `${PODS}/p/exec?command=ls`, undefined, {
      Upgrade: "SPDY/3.1",
      Connection: "Upgrade",
    });
    expect(spdy.status).toBe(400);
    expect(String(spdy.body.message)).toMatch(/WebSocket/);
    const ws = await bare.call("GET", `${PODS}/p/exec?command=ls`, undefined, { Upgrade: "websocket" });
    expect(ws.status).toBe(503);
    const kinds: string[] = [];
    const podExec: PodExecService = async ({ kind }) => {
      kinds.push(kind);
      return new Response("ok");
    };
    const served = await withPod({ podExec });
    await served.call("POST", `${PODS}/p/binding`, binding("n1"));
    for (const sub of ["exec", "attach", "portforward"]) await served.call("GET", `${PODS}/p/${sub}`);
    expect(kinds).toEqual(["exec", "attach", "portforward"]);
  });

  it("runs every check before telling a SPDY-only kubectl which version or setting it needs", async () => {
    const spdy = { Upgrade: "SPDY/3.1", Connection: "Upgrade" };
    const connected = new Set<string>();
    const server = await withPod({
      podExec: async () => new Response("ok"),
      nodeConnected: async (node) => connected.has(node),
    });
    const missing = await server.call("POST", `${PODS}/nope/portforward?ports=80`, undefined, spdy);
    expect(missing.status).toBe(404);
    const badContainer = await server.call(
      "POST",
      `${PODS}/p/exec?command=ls&container=zzz`,
      undefined,
      spdy,
    );
    expect(badContainer.status).toBe(400);
    expect(String(badContainer.body.message)).toMatch(/container zzz is not valid/);
    const unscheduled = await server.call("POST", `${PODS}/p/portforward?ports=80`, undefined, spdy);
    expect(unscheduled.status).toBe(400);
    expect(String(unscheduled.body.message)).toMatch(/does not have a host assigned/);
    await server.call("POST", `${PODS}/p/binding`, binding("n1"));
    const offline = await server.call("POST", `${PODS}/p/portforward?ports=80`, undefined, spdy);
    expect(offline.status).toBe(503);
    expect(offline.body.reason).toBe("ServiceUnavailable");
    expect(String(offline.body.message)).toMatch(/node "n1" .* is not connected/);
    connected.add("n1");
    const portforward = await server.call("POST", `${PODS}/p/portforward?ports=80`, undefined, spdy);
    expect(portforward.status).toBe(400);
    expect(portforward.body).toMatchObject({ kind: "Status", reason: "BadRequest", code: 400 });
    expect(String(portforward.body.message)).toMatch(
      /kubectl 1\.31 or newer, or kubectl 1\.30 with KUBECTL_PORT_FORWARD_WEBSOCKETS=true/,
    );
    const exec = await server.call("POST", `${PODS}/p/exec?command=ls`, undefined, spdy);
    expect(String(exec.body.message)).toMatch(
      /kubectl 1\.30 or newer, or kubectl 1\.29 with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true/,
    );
  });
});
