import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { createApiServer } from "./app.ts";
import { ADMIN_USER } from "./auth.ts";
import { authorize } from "./authorize.ts";
import { RESOURCES } from "./kinds/index.ts";

const NODE = { name: "system:node:n1", groups: ["system:nodes", "system:authenticated"] };
/** workerd parses a fixed set of methods (WebDAV's included); PROPFIND, MKCOL and PURGE stand in for the rest. */
const METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "TRACE",
  "PROPFIND",
  "MKCOL",
  "PURGE",
];
/** Written out here, apart from request-info.ts, so the test does not grade the code by itself. */
const KUBE_VERB: Record<string, { collection: string; object: string }> = {
  GET: { collection: "list", object: "get" },
  HEAD: { collection: "list", object: "get" },
  POST: { collection: "create", object: "create" },
  PUT: { collection: "update", object: "update" },
  PATCH: { collection: "patch", object: "patch" },
  DELETE: { collection: "deletecollection", object: "delete" },
};
const COLLECTION_VERBS = new Set(["list", "watch", "create", "deletecollection"]);
const NODE_DENIED = [
  "pods/binding",
  "pods/eviction",
  "pods/log",
  "pods/exec",
  "pods/attach",
  "pods/portforward",
];

function server() {
  return createApiServer({
    store: new MemoryStore(),
    resources: RESOURCES,
    authenticate: async (r) => (r.headers.get("Authorization") === "Bearer node" ? NODE : ADMIN_USER),
    authorize,
  });
}

interface Path {
  url: string;
  /** e.g. "pods" or "pods/binding", as discovery names it. */
  name: string;
  collection: boolean;
  subresource: boolean;
  groupVersion: string;
}

/** Every collection, object and subresource path of the resource table. */
function paths(): Path[] {
  const out: Path[] = [];
  for (const r of RESOURCES) {
    const gv = r.group ? `${r.group}/${r.version}` : r.version;
    const base = `${r.group ? `/apis/${gv}` : "/api/v1"}${r.namespaced ? "/namespaces/default" : ""}/${r.resource}`;
    out.push({ url: base, name: r.resource, collection: true, subresource: false, groupVersion: gv });
    out.push({ url: `${base}/x`, name: r.resource, collection: false, subresource: false, groupVersion: gv });
    const subs = [
      ...(r.subresources?.status ? ["status"] : []),
      ...(r.subresources?.scale ? ["scale"] : []),
      ...Object.keys(r.subresources?.custom ?? {}),
    ];
    for (const sub of subs)
      out.push({
        url: `${base}/x/${sub}`,
        name: `${r.resource}/${sub}`,
        collection: false,
        subresource: true,
        groupVersion: gv,
      });
  }
  return out;
}

/** The verbs discovery declares for each "group/version resource[/sub]". */
async function declaredVerbs(app: ReturnType<typeof server>): Promise<Map<string, string[]>> {
  const declared = new Map<string, string[]>();
  const versions = new Set(RESOURCES.map((r) => (r.group ? `/apis/${r.group}/${r.version}` : "/api/v1")));
  for (const url of versions) {
    const doc = (await (await app.request(`http://test${url}`)).json()) as {
      groupVersion: string;
      resources: { name: string; verbs: string[] }[];
    };
    for (const r of doc.resources) declared.set(`${doc.groupVersion} ${r.name}`, r.verbs);
  }
  return declared;
}

async function send(app: ReturnType<typeof server>, who: string, method: string, url: string) {
  const body = ["POST", "PUT", "PATCH"].includes(method) ? "{}" : undefined;
  const type = method === "PATCH" ? "application/merge-patch+json" : "application/json";
  const response = await app.request(`http://test${url}`, {
    method,
    headers: { Authorization: `Bearer ${who}`, "Content-Type": type },
    body,
  });
  return { status: response.status, text: method === "HEAD" ? "" : await response.text() };
}

describe("verbs by HTTP method", () => {
  it("every method on every resource and subresource path answers 405 exactly where discovery declares no such verb", async () => {
    const app = server();
    const declared = await declaredVerbs(app);
    const mismatches: string[] = [];
    let checked = 0;
    for (const path of paths()) {
      const verbs = declared.get(`${path.groupVersion} ${path.name}`);
      expect(verbs, path.name).toBeDefined();
      for (const method of METHODS) {
        const mapped = KUBE_VERB[method];
        const verb = mapped && (path.collection ? mapped.collection : mapped.object);
        const routed =
          verb !== undefined && (path.subresource || COLLECTION_VERBS.has(verb) === path.collection);
        const allowed = routed && verbs!.includes(verb);
        for (const who of ["admin", "node"]) {
          const { status, text } = await send(app, who, method, path.url);
          checked++;
          const line = `${who} ${method} ${path.url} -> ${status} ${text.slice(0, 160)}`;
          if (status >= 500) mismatches.push(`5xx: ${line}`);
          if ((status === 405) !== !allowed) mismatches.push(`405 expected=${!allowed}: ${line}`);
          if (status === 405 && method !== "HEAD" && !text.includes('"reason":"MethodNotAllowed"'))
            mismatches.push(`not a Status: ${line}`);
          const denied =
            who === "node" && (NODE_DENIED.includes(path.name) || path.name === "namespaces/finalize");
          if (allowed && denied && status !== 403) mismatches.push(`node not denied: ${line}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThan(1000);
  });

  it("a namespaced resource across all namespaces serves only list and watch, as kube's installer routes it", async () => {
    const app = server();
    for (const r of RESOURCES.filter((r) => r.namespaced)) {
      const url = `${r.group ? `/apis/${r.group}/${r.version}` : "/api/v1"}/${r.resource}`;
      for (const method of ["POST", "DELETE", "PUT", "PATCH"])
        expect((await send(app, "admin", method, url)).status, `${method} ${url}`).toBe(405);
      // A create-only kind (LocalSubjectAccessReview) serves no list at all.
      const lists = !r.verbs || r.verbs.includes("list");
      expect((await send(app, "admin", "GET", url)).status, `GET ${url}`).toBe(lists ? 200 : 405);
    }
  });

  it("a made-up method cannot even be constructed inside workerd, so no handler sees it", () => {
    expect(
      () => new Request("http://test/api/v1/namespaces/default/pods/x/binding", { method: "FROBNICATE" }),
    ).toThrow(TypeError);
  });

  it("a GET collection with watch= is a watch exactly as kube decodes the parameter", async () => {
    const app = server();
    // A node may get a Secret it needs but never list or watch them: the verb decides, whatever the spelling.
    for (const watch of ["true", "1", "t", "True", "yes", ""]) {
      const { status, text } = await send(app, "node", "GET", `/api/v1/secrets?watch=${watch}`);
      expect(status, watch).toBe(403);
      expect(text, watch).toMatch(/cannot watch/);
    }
    for (const watch of ["false", "0", "FALSE"]) {
      const { status, text } = await send(app, "node", "GET", `/api/v1/secrets?watch=${watch}`);
      expect(status, watch).toBe(403);
      expect(text, watch).toMatch(/cannot list/);
    }
    const watched = await app.request("http://test/api/v1/namespaces?watch=t&timeoutSeconds=1");
    expect(watched.headers.get("Content-Type")).toMatch(/json/);
    await watched.body?.cancel();
  });
});
