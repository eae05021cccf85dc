/**
 * Distinguished names as strings (RFC 4514), for comparing group names and reading a group's
 * common name. Not a full parser: enough to split on unescaped separators and compare.
 */

/** Splits a DN into its RDNs at commas that are not escaped (`\,`) or inside a quoted value. */
export function splitDn(dn: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i];
    if (c === '\\' && i + 1 < dn.length) {
      current += c + dn[i + 1];
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if ((c === ',' || c === ';') && !quoted) {
      parts.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  if (current.trim() || parts.length > 0) parts.push(current.trim());
  return parts;
}

/**
 * A DN in one canonical spelling for comparison: attribute types and values lower-cased, no spaces
 * around `=` or `,`. Directories compare DNs case-insensitively for the usual attribute types
 * (cn, ou, dc, uid), so administrators may write a group DN in any case.
 */
export function normaliseDn(dn: string): string {
  return splitDn(dn)
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      if (eq < 0) return rdn.toLowerCase();
      return `${rdn.slice(0, eq).trim().toLowerCase()}=${rdn
        .slice(eq + 1)
        .trim()
        .toLowerCase()}`;
    })
    .join(',');
}

/** The value of the first RDN (`cn=Engineers,ou=groups,...` -> `Engineers`), unescaped. */
export function firstRdnValue(dn: string): string | null {
  const [first] = splitDn(dn);
  if (!first) return null;
  const eq = first.indexOf('=');
  if (eq < 0) return null;
  let value = first.slice(eq + 1).trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
  return unescapeDnValue(value);
}

/** `\,` -> `,`; runs of `\XX` are UTF-8 bytes (`\C3\A9` -> `é`). */
function unescapeDnValue(value: string): string {
  return value.replace(/(?:\\[0-9a-fA-F]{2})+|\\(.)/g, (m: string, single: string | undefined) =>
    single !== undefined ? single : Buffer.from(m.replace(/\\/g, ''), 'hex').toString('utf8'),
  );
}

/** True when the text looks like a DN (`type=value` as its first RDN). */
export function looksLikeDn(text: string): boolean {
  return /^\s*[A-Za-z][\w-]*\s*=/.test(text) || /^\s*\d+(\.\d+)+\s*=/.test(text);
}
