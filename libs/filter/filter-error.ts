/**
 * A filter the caller sent is not acceptable. `path` locates the offending part in the caller's own
 * terms (e.g. `$and[2].price.$gt`; '' is the filter as a whole) so an API can echo it back verbatim.
 */
export class FilterError extends Error {
  override readonly name = 'FilterError';

  constructor(
    readonly path: string,
    message: string,
  ) {
    super(path === '' ? message : `${path}: ${message}`);
  }
}
