export {
  andFilters,
  compileFilter,
  type CompileFilterOptions,
  type CompiledFilter,
} from './filter';
export { evaluateFilter } from './evaluate-filter';
export { FilterError } from './filter-error';
export { FILTER_LIMITS } from './parse-filter';
export { TRY_TIMESTAMPTZ_FUNCTION } from './timestamptz-function';
