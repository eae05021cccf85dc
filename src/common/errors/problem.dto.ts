/** An RFC 9457 problem document, as every error response carries it (application/problem+json). */
export class ProblemDto {
  /** @example "https://quiver.dev/problems/validation_failed" */
  type!: string;
  /** @example "Request validation failed" */
  title!: string;
  /** @example 400 */
  status!: number;
  /** @example "dimension must be between 1 and 16000" */
  detail!: string;
  /** Stable, machine-readable error code. @example "validation_failed" */
  code!: string;
  /** @example "/v1/collections" */
  instance?: string;
  /** @example "5f1c1b1e-7c1c-4d2a-9d7e-2b8c2f1f0a3b" */
  requestId?: string;
}
