/** What the problem+json filter needs to render an error. */
export interface ProblemSpec {
  status: number;
  title: string;
}

/**
 * The one exception type modules throw. `code` is stable and documented; clients branch on it.
 * `extra` carries machine-readable members (RFC 9457 extension members) and must never hold secrets.
 *
 * A client error (status below 500) records no stack trace: it is an answer, not a fault, nothing
 * logs its stack, and capturing one cost more than the rest of a 429 (a flood of refused requests
 * is exactly when refusing must stay cheap). A server error keeps its stack.
 */
export class AppException extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    code: string,
    status: number,
    title: string,
    detail: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    const stackTraceLimit = Error.stackTraceLimit;
    if (status < 500) Error.stackTraceLimit = 0;
    try {
      super(detail);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'AppException';
    this.code = code;
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.extra = extra;
    this.headers = headers;
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
