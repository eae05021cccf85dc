export {
  assertRules,
  MAX_BUCKET,
  MAX_WINDOW_MS,
  quantumMs,
  ruleSlot,
  type Decision,
  type RateLimitStore,
  type RuleDecision,
  type WindowRule,
} from './rate-limit';
export { MemoryRateLimitStore, type MemoryRateLimitStoreOptions } from './memory-rate-limit-store';
export {
  RateLimitTimeoutError,
  RedisRateLimitStore,
  type OnceClaim,
  type RedisRateLimitStoreOptions,
} from './redis-rate-limit-store';
export { policyName, rateLimitHeaders } from './rate-limit-headers';
