/**
 * openid-client publishes its passport Strategy as the `openid-client/passport` subpath export, which
 * TypeScript's `moduleResolution: node` (what this CommonJS build uses) does not read. At run time Node
 * and jest resolve the export map; this only points the compiler at the same file's declarations.
 */
declare module 'openid-client/passport' {
  export * from 'openid-client/build/passport';
}
