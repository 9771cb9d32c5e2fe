import { defineConfig } from "vitest/config";
import { ensureTestTls } from "./test/mocks/tls-material";

// Sets NODE_EXTRA_CA_CERTS to this run's test CA (see tls-material.ts). miniflare reads that variable
// once, when it is first imported, so the plugin (which imports it) is loaded only after this line.
ensureTestTls();
const { cloudflareTest } = await import("@cloudflare/vitest-plugin");

/**
 * Three tiers (DESIGN §9):
 * - unit: pure modules, co-located `src/**\/*.test.ts`, plain Node;
 * - integration: `test/integration/**`, inside workerd with real Durable Objects, against Node mock
 *   upstreams on 127.0.0.1 started by the global setup;
 * - e2e: `test/e2e/**`, official SDKs in Node against the gateway under `wrangler dev`.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "test/mocks/**/*.test.ts"],
          environment: "node",
          setupFiles: ["test/support/fast-check-seed.ts"],
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                MOCK_PORTS: JSON.stringify(inject("mockPorts" as never)),
                ALLOW_PRIVATE_TARGETS: "true",
                // A key pool the Durable Objects can read too (per-test vars reach only the Worker).
                KEYS_TEST_POOL: "gem-pool-key-one-1a2b\ngem-pool-key-two-3c4d",
              },
            },
          })),
        ],
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // Durable Objects log from their own I/O context, often after the test that started them
          // has ended; the plugin parks such lines and a file's teardown can then reject the pending
          // console RPC and fail a green run (cloudflare/workers-sdk#15719, vitest-dev/vitest#11153).
          // Without the interception, workerd writes every line to its own stdout and nothing is
          // pending at teardown. Tests that read log lines spy on the global console, unaffected.
          disableConsoleIntercept: true,
          globalSetup: ["test/mocks/global-setup.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/mocks/global-setup.ts", "test/e2e/wrangler-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
