import { checkComponents } from './signature-base';
import {
  type ParsedSignature,
  type SignableRequest,
  type SignatureRejection,
  SIGNATURE_LIMITS,
  reject,
} from './signature-types';
import {
  type BareItem,
  type SfDictionary,
  type SfParameters,
  parseDictionary,
} from './structured-fields';

type ParseResult = { ok: true; sig: ParsedSignature } | SignatureRejection;

const INTEGER_PARAMS = new Set(['created', 'expires']);
const STRING_PARAMS = new Set(['keyid', 'alg', 'nonce', 'tag']);

function readField(
  headers: SignableRequest['headers'],
  name: string,
): { ok: true; value: SfDictionary } | SignatureRejection {
  const raw = headers[name];
  const value = Array.isArray(raw) ? raw.join(', ') : (raw ?? '');
  if (value.length > SIGNATURE_LIMITS.maxHeaderLength) {
    return reject(
      'malformed_signature',
      `${name} is longer than ${SIGNATURE_LIMITS.maxHeaderLength}`,
    );
  }
  const parsed = parseDictionary(value);
  if (!parsed.ok) return reject('malformed_signature', `${name} does not parse: ${parsed.error}`);
  return { ok: true, value: parsed.value };
}

function integerParam(params: SfParameters, name: string): number | undefined {
  const item = params.get(name);
  return item?.type === 'integer' ? item.value : undefined;
}

function stringParam(params: SfParameters, name: string): string | undefined {
  const item = params.get(name);
  return item?.type === 'string' ? item.value : undefined;
}

function checkParam(name: string, item: BareItem): string | undefined {
  if (INTEGER_PARAMS.has(name)) {
    return item.type === 'integer' && item.value >= 0
      ? undefined
      : `${name} must be a non-negative integer`;
  }
  if (STRING_PARAMS.has(name)) {
    return item.type === 'string' ? undefined : `${name} must be a string`;
  }
  return `unsupported signature parameter "${name}"`;
}

/**
 * Reads the one signature of a request from its Signature-Input and Signature fields. Never throws:
 * anything not exactly one well-formed hmac-able signature is a rejection.
 */
export function parseSignature(headers: SignableRequest['headers']): ParseResult {
  const inputField = readField(headers, 'signature-input');
  if (!inputField.ok) return inputField;
  const signatureField = readField(headers, 'signature');
  if (!signatureField.ok) return signatureField;
  const inputs = inputField.value;
  const signatures = signatureField.value;

  if (inputs.size === 0 && signatures.size === 0) {
    return reject('missing_signature', 'the request has no signature');
  }
  if (inputs.size === 0) return reject('malformed_signature', 'signature without signature-input');
  if (signatures.size === 0)
    return reject('malformed_signature', 'signature-input without signature');
  if (inputs.size > 1 || signatures.size > 1) {
    return reject('multiple_signatures', 'exactly one signature is accepted');
  }

  const [[label, input]] = inputs;
  const signature = signatures.get(label);
  if (!signature) {
    return reject('malformed_signature', `signature has no value labelled "${label}"`);
  }
  if (signature.kind !== 'item' || signature.value.type !== 'bytes' || signature.params.size > 0) {
    return reject('malformed_signature', 'the signature value is not a byte sequence');
  }
  if (input.kind !== 'inner-list') {
    return reject('malformed_signature', 'signature-input is not an inner list');
  }

  const components: string[] = [];
  for (const item of input.items) {
    if (item.value.type !== 'string') {
      return reject('malformed_signature', 'component identifiers must be strings');
    }
    if (item.params.size > 0) {
      return reject(
        'malformed_signature',
        `component parameters are not supported (on "${item.value.value}")`,
      );
    }
    components.push(item.value.value);
  }
  const badComponents = checkComponents(components);
  if (badComponents !== undefined) return reject('malformed_signature', badComponents);

  for (const [name, item] of input.params) {
    const problem = checkParam(name, item);
    if (problem !== undefined) return reject('malformed_signature', problem);
  }
  const keyId = stringParam(input.params, 'keyid');
  if (keyId === undefined || keyId === '') {
    return reject('missing_keyid', 'the signature has no keyid');
  }

  const sig: ParsedSignature = {
    label,
    keyId,
    alg: stringParam(input.params, 'alg'),
    created: integerParam(input.params, 'created'),
    components,
    signatureParams: input.raw,
    signature: signature.value.value,
  };
  const expires = integerParam(input.params, 'expires');
  if (expires !== undefined) sig.expires = expires;
  const nonce = stringParam(input.params, 'nonce');
  if (nonce !== undefined) sig.nonce = nonce;
  const tag = stringParam(input.params, 'tag');
  if (tag !== undefined) sig.tag = tag;
  return { ok: true, sig };
}
