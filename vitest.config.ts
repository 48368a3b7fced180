/**
 * Two test projects:
 *  - workers: Worker and Durable Object code, run inside workerd through
 *    @cloudflare/vitest-pool-workers (the real runtime, real SQLite DOs);
 *  - node: the node agent, scripts and end-to-end tests on plain Node.
 */
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            main: "./workers/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: { ADMIN_TOKEN: "test-admin-token" } },
          }),
        ],
        test: {
          name: "workers",
          include: ["workers/**/*.test.ts", "durable-objects/**/*.test.ts"],
          // The controller-manager tests converge a whole control plane inside workerd; on a loaded 2-core
          // machine that took over vitest's default 5 s. A bound on waiting, not a timed assertion.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["node-agent/**/*.test.ts", "scripts/**/*.test.ts", "test/**/*.test.ts"],
          globalSetup: ["./test/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
