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
        // The API's list/watch/read tests and the controllers' informers again with their resources split
        // over 4 store sub-shards (STORE_SHARDS, issue 20): composite resourceVersions, merged lists and watches.
        plugins: [
          cloudflareTest({
            main: "./workers/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ADMIN_TOKEN: "test-admin-token",
                STORE_SHARDS: "core/configmaps=4,example.com/widgets=4,core/pods=4",
              },
            },
          }),
        ],
        test: {
          name: "workers-sharded",
          include: ["workers/apiserver/{list,watch,reads}.test.ts", "workers/controllers/informer.test.ts"],
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
