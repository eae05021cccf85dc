export {
  checkFilterSyntax,
  escapeFilterValue,
  fillFilterTemplate,
  templatePlaceholders,
  type FilterProblem,
} from './filter';
export {
  isNetbiosDomain,
  MAX_LOGIN_NAME_LENGTH,
  parseLoginName,
  type LoginForm,
  type LoginNameRefusal,
  type LoginNameResult,
} from './login-name';
export { firstRdnValue, looksLikeDn, normaliseDn, splitDn } from './dn';
