/** Tests are TypeScript run through ts-jest; servers they spawn run the compiled dist/ (built by scripts/test). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  globalSetup: '<rootDir>/spec/support/global-setup.ts',
  testTimeout: 30000,
  maxWorkers: 2,
};
