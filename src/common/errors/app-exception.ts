/** What the problem+json filter needs to render an error. */
export interface ProblemSpec {
  status: number;
  title: string;
}

/**
 * The one exception type modules throw. `code` is stable and documented; clients branch on it.
 * `extra` carries machine-readable members (RFC 9457 extension members) and must never hold secrets.
 */
export class AppException extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'AppException';
  }
}

/**
 * Declares a module's error catalogue. Because the catalogue is a Record over the module's code enum,
 * adding a code without its status and title does not compile.
 */
export function defineErrors<C extends string>(catalogue: Record<C, ProblemSpec>) {
  return (
    code: C,
    detail: string,
    extra?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) =>
    new AppException(code, catalogue[code].status, catalogue[code].title, detail, extra, headers);
}
