export {
  clientAddress,
  IpAllowlist,
  normaliseAddress,
  parseEntry,
  type EntryProblem,
} from './ip-allowlist';
export { addressRange, AddressPolicy, type AddressVerdict } from './public-address';
export {
  AddressNotAllowedError,
  addressRefusalIn,
  guardedFetch,
  isReservedName,
  pinnedLookup,
  resolveAllowed,
  type FetchOptions,
  type ResolvedAddress,
  type Resolver,
} from './guarded-connect';
