import { type SignableRequest, SIGNATURE_LIMITS } from './signature-types';

/** RFC 9421 2.2 derived components this library covers; @request-target is deliberately absent. */
const DERIVED_COMPONENTS = new Set([
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@path',
  '@query',
]);
// Covering our own signature fields is circular for a single signature.
const FORBIDDEN_FIELDS = new Set(['signature', 'signature-input']);
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9421 2.5: the signature base is US-ASCII; a value with controls or non-ASCII bytes is refused
// rather than guessed at (no obs-fold unfolding, no latin1 decoding).
const SIGNABLE_VALUE = /^[\t\x20-\x7e]*$/;
// Each part starts at a character the previous one cannot contain, so matching never backtracks.
const TARGET_URI = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?]*)(\/[^?]*)?(\?.*)?$/;

export type BaseResult = { ok: true; base: string } | { ok: false; error: string };

/**
 * Checks the list of covered component identifiers: names only (no parameters), lower-case, no
 * duplicates, at most SIGNATURE_LIMITS.maxComponents. Returns an error message or undefined.
 */
export function checkComponents(components: readonly string[]): string | undefined {
  if (components.length > SIGNATURE_LIMITS.maxComponents) {
    return `at most ${SIGNATURE_LIMITS.maxComponents} components may be covered`;
  }
  const seen = new Set<string>();
  for (const component of components) {
    if (seen.has(component)) return `component "${component}" is covered twice`;
    seen.add(component);
    if (component === '@request-target') return '@request-target is not supported';
    if (component.startsWith('@')) {
      if (!DERIVED_COMPONENTS.has(component)) return `unsupported derived component "${component}"`;
    } else if (!FIELD_NAME.test(component)) {
      return `"${component}" is not a lower-case field name`;
    } else if (FORBIDDEN_FIELDS.has(component)) {
      return `the ${component} field cannot be covered`;
    }
  }
  return undefined;
}

interface TargetParts {
  scheme: string;
  authority: string;
  path: string;
  query: string;
}

function parseTargetUri(uri: string): TargetParts | string {
  if (!/^[\x21-\x5b\x5d-\x7e]*$/.test(uri)) {
    return 'the target URI has spaces, backslashes, controls or non-ASCII characters';
  }
  if (uri.includes('#')) return 'the target URI has a fragment';
  const match = TARGET_URI.exec(uri);
  if (!match) return 'the target URI is not absolute';
  const scheme = match[1].toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return `unsupported scheme "${scheme}"`;
  if (match[2].includes('@')) return 'the target URI carries user information';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'the target URI does not parse';
  }
  // The authority must already be in normal form, so that the raw URI (@target-uri) and the
  // normalised @authority cannot describe different hosts (WHATWG URL parsing is forgiving).
  const rawAuthority = match[2].toLowerCase();
  const defaultPort = scheme === 'http' ? ':80' : ':443';
  if (url.host === '' || (rawAuthority !== url.host && rawAuthority !== url.host + defaultPort)) {
    return 'the target URI authority is not in normal form';
  }
  // Path and query are taken raw from the URI (RFC 9421 2.2.6/2.2.7: no dot-segment removal, no
  // re-encoding); only the authority is normalised (lower case, default port dropped) per 2.2.3.
  return {
    scheme,
    authority: url.host,
    path: match[3] ?? '/',
    query: match[4] ?? '?',
  };
}

/** A field's value for the base: each line trimmed, repeated lines joined with ', '. */
export function fieldValue(headers: SignableRequest['headers'], name: string): string | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  const lines = Array.isArray(raw) ? raw : [raw];
  if (lines.length === 0) return undefined;
  return lines.map(trimOws).join(', ');
}

// A loop rather than /[ \t]+$/, which backtracks quadratically on long inner runs of spaces.
function trimOws(value: string): string {
  const isOws = (c: string) => c === ' ' || c === '\t';
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value[start])) start++;
  while (end > start && isOws(value[end - 1])) end--;
  return value.slice(start, end);
}

function componentValue(
  req: SignableRequest,
  component: string,
  target: () => TargetParts | string,
): string | { error: string } {
  const fromTarget = (pick: (parts: TargetParts) => string): string | { error: string } => {
    const parts = target();
    return typeof parts === 'string' ? { error: parts } : pick(parts);
  };
  switch (component) {
    case '@method':
      return METHOD.test(req.method) ? req.method : { error: 'the method is not a token' };
    case '@target-uri':
      return fromTarget(() => req.targetUri);
    case '@authority':
      return fromTarget((parts) => parts.authority);
    case '@scheme':
      return fromTarget((parts) => parts.scheme);
    case '@path':
      return fromTarget((parts) => parts.path);
    case '@query':
      return fromTarget((parts) => parts.query);
    default: {
      const value = fieldValue(req.headers, component);
      if (value === undefined) return { error: `the ${component} field is not in the request` };
      if (!SIGNABLE_VALUE.test(value)) {
        return { error: `the ${component} field has characters that cannot be signed` };
      }
      return value;
    }
  }
}

/**
 * Builds the RFC 9421 2.5 signature base. `components` must have passed checkComponents;
 * `signatureParams` is used verbatim. Never throws.
 */
export function buildSignatureBase(
  req: SignableRequest,
  components: readonly string[],
  signatureParams: string,
): BaseResult {
  const invalid = checkComponents(components);
  if (invalid !== undefined) return { ok: false, error: invalid };
  let parts: TargetParts | string | undefined;
  const target = (): TargetParts | string => (parts ??= parseTargetUri(req.targetUri));
  let base = '';
  for (const component of components) {
    const value = componentValue(req, component, target);
    if (typeof value !== 'string') return { ok: false, error: value.error };
    base += `"${component}": ${value}\n`;
  }
  base += `"@signature-params": ${signatureParams}`;
  return { ok: true, base };
}

/** The RFC 9421 signature base; throws when a component is unsupported or missing. */
export function signatureBase(
  req: SignableRequest,
  components: string[],
  signatureParams: string,
): string {
  const result = buildSignatureBase(req, components, signatureParams);
  if (!result.ok) throw new Error(result.error);
  return result.base;
}
