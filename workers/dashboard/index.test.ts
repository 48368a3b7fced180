/** The /ui routes in workerd: through the whole Worker (no auth, a Status for misses) and against a given asset store. */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DASHBOARD_CSP, handleDashboard } from "./index.ts";
import { STYLE_NONCE_PLACEHOLDER } from "./nonce.ts";

const BASE = "https://edgeplane.test";

/** A Static Assets store holding `files` (what wrangler uploads from workers/join/assets). */
function assets(files: Record<string, { body: string; type: string }>): Fetcher {
  return {
    fetch: async (input: RequestInfo | URL) => {
      const file = files[new URL(input instanceof Request ? input.url : String(input)).pathname];
      return file
        ? new Response(file.body, { headers: { "Content-Type": file.type } })
        : new Response("not found", { status: 404 });
    },
    connect: () => {
      throw new Error("not a socket");
    },
  } as unknown as Fetcher;
}

const STORE = assets({
  "/ui/index.html": {
    body: `<!doctype html><meta name="style-nonce" content="${STYLE_NONCE_PLACEHOLDER}"><title>x</title>`,
    type: "text/html",
  },
  "/ui/assets/app-ABC.js": { body: "console.log(1)", type: "text/javascript" },
});

function expectLockedDown(response: Response, csp = DASHBOARD_CSP): void {
  expect(response.headers.get("Content-Security-Policy")).toBe(csp);
  expect(response.headers.get("X-Frame-Options")).toBe("DENY");
  expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
}

describe("dashboard routes", () => {
  it("serves index.html at /ui and /ui/, never cached, under a CSP without inline script or style", async () => {
    const nonces = new Set<string>();
    for (const path of ["/ui", "/ui/", "/ui/"]) {
      const response = await handleDashboard(new Request(`${BASE}${path}`), { ASSETS: STORE });
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toContain("<title>x</title>");
      // A fresh style nonce per response, the same in the page and in its policy (xterm.js's <style> elements).
      const nonce = /name="style-nonce" content="([A-Za-z0-9+/=]{24})"/.exec(html)?.[1];
      expect(nonce).toBeDefined();
      nonces.add(nonce!);
      expect(response.headers.get("Content-Type")).toBe("text/html");
      expect(response.headers.get("Cache-Control")).toBe("no-store");
      expectLockedDown(
        response,
        DASHBOARD_CSP.replace("style-src 'self'", `style-src 'self' 'nonce-${nonce}'`),
      );
    }
    expect(nonces.size).toBe(3);
    expect(DASHBOARD_CSP).toContain("script-src 'self';");
    expect(DASHBOARD_CSP).toContain("style-src 'self';");
    expect(DASHBOARD_CSP).toContain("connect-src 'self'");
    expect(DASHBOARD_CSP).not.toContain("unsafe-inline");
    expect(DASHBOARD_CSP).toContain("frame-ancestors 'none'");
  });

  it("serves hashed assets cached for good, and HEAD without a body", async () => {
    const response = await handleDashboard(new Request(`${BASE}/ui/assets/app-ABC.js`), { ASSETS: STORE });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("console.log(1)");
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(response.headers.get("Content-Type")).toBe("text/javascript");
    expectLockedDown(response);
    const head = await handleDashboard(new Request(`${BASE}/ui/assets/app-ABC.js`, { method: "HEAD" }), {
      ASSETS: STORE,
    });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("answers misses, other paths and other methods with a Status", async () => {
    const cases: [string, string, number, string][] = [
      ["GET", "/ui/assets/app-NOPE.js", 404, "NotFound"],
      ["GET", "/ui/assets/sub/app-ABC.js", 404, "NotFound"],
      ["GET", "/ui/index.html", 404, "NotFound"],
      ["GET", "/ui/pods", 404, "NotFound"],
      ["POST", "/ui/", 405, "MethodNotAllowed"],
    ];
    for (const [method, path, code, reason] of cases) {
      const response = await handleDashboard(new Request(`${BASE}${path}`, { method }), { ASSETS: STORE });
      expect(response.status, path).toBe(code);
      const status = (await response.json()) as { kind: string; reason: string };
      expect(status.kind).toBe("Status");
      expect(status.reason).toBe(reason);
      expectLockedDown(response);
    }
    const unbuilt = await handleDashboard(new Request(`${BASE}/ui/`), {});
    expect(unbuilt.status).toBe(404);
    expect(((await unbuilt.json()) as { message: string }).message).toMatch(/build-dashboard\.mjs/);
  });

  it("is routed by the Worker before the API's authentication", async () => {
    // No token: the API would answer 401; the dashboard's static files need none.
    const response = await SELF.fetch(`${BASE}/ui/assets/app-NOPE.js`);
    expect(response.status).toBe(404);
    expectLockedDown(response);
    const api = await SELF.fetch(`${BASE}/api/v1/pods`);
    expect(api.status).toBe(401);
  });
});
