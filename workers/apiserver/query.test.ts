import { describe, expect, it } from "vitest";
import { queryBoolValue } from "./query.ts";
import { TEST_TOKEN, testServer } from "./testing/fixture.ts";

const CM = "/api/v1/namespaces/default/configmaps";

/** The first line of a response body (a watch event or a whole list), read without waiting for the stream to end. */
async function firstLine(response: Response): Promise<Record<string, unknown>> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (!buffer.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
  }
  await reader.cancel();
  return JSON.parse(buffer.split("\n")[0]);
}

describe("boolean query parameters, decoded as kube decodes them", () => {
  it("accepts every strconv.ParseBool spelling, and only 0/false mean false", () => {
    for (const v of ["1", "t", "T", "TRUE", "true", "True", ""]) expect(queryBoolValue(v)).toBe(true);
    for (const v of ["0", "false", "FALSE", "False", "fAlSe"]) expect(queryBoolValue(v)).toBe(false);
  });

  it("serves watch=True (the Python client), watch=1 and watch=t as watches, watch=False as a list", async () => {
    const server = testServer();
    await server.call("POST", CM, { metadata: { name: "a" } });
    const get = (query: string) =>
      server.app.request(`http://test${CM}?${query}`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    for (const spelling of ["True", "1", "t", "TRUE"]) {
      const event = await firstLine(await get(`watch=${spelling}`));
      expect(event, spelling).toMatchObject({ type: "ADDED", object: { metadata: { name: "a" } } });
    }
    for (const spelling of ["False", "0", "FALSE"]) {
      const list = await firstLine(await get(`watch=${spelling}`));
      expect(list, spelling).toMatchObject({ kind: "ConfigMapList" });
    }
  });

  it("reads allowWatchBookmarks=True and sendInitialEvents=True (the initial-events-end bookmark)", async () => {
    const server = testServer();
    await server.call("POST", CM, { metadata: { name: "a" } });
    const response = await server.app.request(
      `http://test${CM}?watch=True&sendInitialEvents=True&allowWatchBookmarks=True&resourceVersionMatch=NotOlderThan`,
      { headers: { Authorization: `Bearer ${TEST_TOKEN}` } },
    );
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    while (buffer.split("\n").length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
    }
    await reader.cancel();
    const [added, bookmark] = buffer.split("\n").map((l) => (l ? JSON.parse(l) : undefined));
    expect(added).toMatchObject({ type: "ADDED" });
    expect(bookmark).toMatchObject({
      type: "BOOKMARK",
      object: { metadata: { annotations: { "k8s.io/initial-events-end": "true" } } },
    });
  });

  it("forces a server-side apply conflict with force=True", async () => {
    const { call } = testServer();
    const apply = (manager: string, value: string, force = "") =>
      call(
        "PATCH",
        `${CM}/c?fieldManager=${manager}${force}`,
        JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { k: value } }),
        { "Content-Type": "application/apply-patch+yaml" },
      );
    expect((await apply("alice", "1")).status).toBe(201);
    expect((await apply("bob", "2")).status).toBe(409);
    expect((await apply("bob", "2", "&force=False")).status).toBe(409);
    expect((await apply("bob", "2", "&force=True")).status).toBe(200);
  });
});
