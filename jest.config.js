/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Run after everything else by jest.packaging.config.js (see there).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/packaging/'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  // e2e suites start real processes; keep CPU contention predictable on 2 cores.
  maxWorkers: 2,
  testTimeout: 30000,
};
