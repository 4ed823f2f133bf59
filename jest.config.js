// Jest runs TypeScript as native ESM through ts-jest (so ESM-only packages such as
// @kubernetes/client-node import cleanly). Type checking is left to `npm run lint`/`build`;
// ts-jest only transpiles, which keeps a test run fast.
const esm = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  testEnvironment: 'node',
  // Only the code folders: a local cluster's data dir holds Raft `.snap` files Jest would
  // mistake for its own snapshots.
  roots: ['<rootDir>/sidecar', '<rootDir>/operator', '<rootDir>/e2e'],
};

export default {
  projects: [
    // Pure logic: no processes, no sockets beyond loopback in-process servers.
    {
      ...esm,
      displayName: 'unit',
      testMatch: ['<rootDir>/{sidecar,operator}/test/unit/**/*.test.ts'],
    },
    // Real redis-server processes, real node processes, real DNS: needs `npm run build` first.
    {
      ...esm,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/{sidecar,operator}/test/integration/**/*.test.ts',
        // The image, chart, manifests and monitoring checks (helm, kubectl, a real control plane).
        '<rootDir>/e2e/test/**/*.test.ts',
      ],
    },
  ],
  // Process-level tests start clusters; a generous ceiling still bounds a hung test.
  testTimeout: 60_000,
  reporters: ['default', '<rootDir>/sidecar/test/support/summary-reporter.cjs'],
};
