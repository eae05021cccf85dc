export {
  clientAddress,
  IpAllowlist,
  normaliseAddress,
  parseEntry,
  type EntryProblem,
} from './ip-allowlist';
