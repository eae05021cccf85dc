export {
  base62Encode,
  generateSecret,
  hashSecret,
  hashSecretHex,
  parseSecret,
  type GeneratedSecret,
  type KeyEnvironment,
  type ParsedSecret,
  type TokenPrefix,
} from './api-key';
