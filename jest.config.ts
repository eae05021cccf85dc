import type { Config } from 'jest';

const moduleNameMapper = {
  '^@app/(.*)$': '<rootDir>/src/$1',
  '^@libs/(.*)$': '<rootDir>/libs/$1',
};

const transform: Config['transform'] = {
  '^.+\\.ts$': [
    'ts-jest',
    {
      tsconfig: 'tsconfig.json',
      // The same OpenAPI derivation as `nest build`, so tests see the documented schemas.
      astTransformers: {
        before: ['<rootDir>/test/support/swagger-transformer.js'],
      },
    },
  ],
};

/**
 * Some dependencies ship ESM only (content-disposition 2, via @fastify/static). Node 20 loads them
 * with require(esm), jest on Node 20 cannot: ts-jest compiles those files to CommonJS.
 */
const ESM_ONLY = [
  'content-disposition',
  'jose',
  'openid-client',
  'oauth4webapi',
  'oidc-provider',
  'quick-lru',
  'nanoid',
  'eta',
  'koa',
  '@koa',
  'jsesc',
  '@noble',
];
transform['^.+\\.js$'] = [
  'ts-jest',
  { tsconfig: { allowJs: true, module: 'commonjs', target: 'es2022', esModuleInterop: true } },
];
const transformIgnorePatterns = [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`];

const config: Config = {
  // A global option: jest ignores it inside `projects`. e2e tests boot apps and talk to real services.
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'unit',
      rootDir: '.',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts'],
      moduleNameMapper,
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'e2e',
      rootDir: '.',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      moduleNameMapper,
      transform,
      transformIgnorePatterns,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      slowTestThreshold: 20,
    },
  ],
};

export default config;
