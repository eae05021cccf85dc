/**
 * RFC 4515 string filters: escaping an assertion value and filling a filter template.
 *
 * Section 3 requires `*`, `(`, `)`, `\` and NUL to be written as `\XX` inside a value. We also escape
 * the other ASCII control characters (never part of a name; harmless as escapes) and `{` `}`, so a
 * filled template can never contain a `{{placeholder}}` that a later, naive substitution (such as
 * ldapauth-fork's own `{{username}}` replace) would expand. Non-ASCII characters stay as UTF-8: the
 * RFC allows them raw, and ldapjs 2 decodes a `\XX` escape as one UTF-16 unit, so escaping the bytes
 * of a multi-byte character would send different bytes than the user typed.
 */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
const MUST_ESCAPE = /[\u0000-\u001f\u007f*()\\{}]/g;

export function escapeFilterValue(value: string): string {
  return value.replace(MUST_ESCAPE, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/** Placeholders a filter template may use: `{{name}}`, letters only. */
const PLACEHOLDER = /\{\{([a-zA-Z]+)\}\}/g;

/** The placeholder names a template uses, in order of first use. */
export function templatePlaceholders(template: string): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) if (!names.includes(m[1])) names.push(m[1]);
  return names;
}

/**
 * Replaces every `{{name}}` with the escaped value. A placeholder without a value throws: a template
 * is checked when the connection is saved, so this is a programming error, not user input.
 */
export function fillFilterTemplate(template: string, values: Record<string, string>): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`filter template: no value for {{${name}}}`);
    return escapeFilterValue(value);
  });
}

export type FilterProblem = 'empty' | 'unbalanced' | 'not_parenthesised' | 'bad_escape';

/**
 * A light syntax check of a filter (or a filled template) written by an administrator: wrapped in
 * parentheses, balanced, escapes well formed. The directory is the real judge; this catches typos
 * at save time rather than at the first login.
 */
export function checkFilterSyntax(filter: string): FilterProblem | null {
  const f = filter.trim();
  if (!f) return 'empty';
  if (!f.startsWith('(') || !f.endsWith(')')) return 'not_parenthesised';
  let depth = 0;
  for (let i = 0; i < f.length; i++) {
    const c = f[i];
    if (c === '\\') {
      if (!/^[0-9a-fA-F]{2}$/.test(f.slice(i + 1, i + 3))) return 'bad_escape';
      i += 2;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
      if (depth < 0) return 'unbalanced';
      if (depth === 0 && i !== f.length - 1) return 'unbalanced';
    }
  }
  return depth === 0 ? null : 'unbalanced';
}
