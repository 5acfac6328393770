import tables from './name-tables.json' with { type: 'json' };

/**
 * Lookups in Unicode's identifier and confusable data (UTS #39), derived from the
 * Consortium's files by sidecar/unicode/derive-name-tables.ts into name-tables.json. The
 * PHP shims read the same JSON, turned into PHP by the shim generator (Keybridge_Name_Tables),
 * so the agent and the shims apply one set of tables.
 */

export const NAME_TABLES_UNICODE_VERSION: string = tables.unicodeVersion;

const ALLOWED: readonly number[] = tables.allowed;
const SCRIPTS: readonly number[] = tables.scripts;
const SCRIPT_SETS: readonly (readonly string[])[] = tables.scriptSets;
const CONFUSABLES = new Map<number, string>(tables.confusables as [number, string][]);

/** The index of the range holding `point` in a flat [first, last, …extra] array, or -1. */
function findRange(flat: readonly number[], width: number, point: number): number {
  let low = 0;
  let high = flat.length / width - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const at = middle * width;
    if (point < flat[at]) high = middle - 1;
    else if (point > flat[at + 1]) low = middle + 1;
    else return at;
  }
  return -1;
}

/** Identifier_Status=Allowed: the characters UTS #39 recommends for identifiers. */
export function isAllowedInIdentifiers(point: number): boolean {
  return findRange(ALLOWED, 2, point) !== -1;
}

/**
 * The augmented script set of an allowed character (ISO 15924 codes), or null for one that
 * goes with every script (Common, Inherited: digits, `_`, most combining marks).
 */
export function scriptsOf(point: number): readonly string[] | null {
  const at = findRange(SCRIPTS, 3, point);
  return at === -1 ? null : SCRIPT_SETS[SCRIPTS[at + 2]];
}

/**
 * UTS #39 skeleton: NFD, each character replaced by its confusables.txt prototype, NFD again.
 * Two strings with the same skeleton look alike ("раssword" in Cyrillic and "password").
 */
export function skeleton(text: string): string {
  let mapped = '';
  for (const char of text.normalize('NFD')) mapped += CONFUSABLES.get(char.codePointAt(0) as number) ?? char;
  return mapped.normalize('NFD');
}
