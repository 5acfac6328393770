import { KeybridgeError } from '../../errors.ts';
import { isAllowedInIdentifiers, scriptsOf, skeleton } from './name-tables.ts';

/**
 * Key names are what a site owner types ("stripe_api_key", "smtp/password", "clé-api").
 * They never become paths (the key service sees only opaque HMAC ids), but they do show
 * up in admin tables, CLI output and PHP option names, so two names that look the same must
 * be the same name, or one of them is refused. Two levels of rules:
 *
 * - every name (normaliseKeyName): NFC-normalised, so "é" typed on macOS (NFD) and on
 *   Windows (NFC) is one key; 1 to 200 characters of letters, marks, digits and `_ . : @ -`,
 *   in `/`-separated segments; no empty, `.` or `..` segment; no whitespace, control or
 *   format characters. Reads, deletes and rotations use only these, so a key stored before
 *   the rules below existed stays readable and deletable.
 * - a name being written (checkNewKeyName), on top: every character other than the syntax's
 *   own `_ . : @ - /` has Identifier_Status=Allowed in Unicode's UTS #39 data (this refuses
 *   invisible fillers such as U+3164, variation selectors, the combining grapheme joiner,
 *   compatibility look-alikes such as fullwidth or mathematical letters); no segment starts
 *   with a combining mark; each segment is in one script, or Latin with Han and Japanese
 *   kana, Bopomofo or Hangul (UTS #39 "highly restrictive"), so Cyrillic "р" and "а" cannot
 *   hide in a Latin "password". The agent also refuses a new name whose confusable skeleton
 *   (nameSkeleton) another key of the vault already has (name-index.ts).
 *
 * The tables come from the Unicode data files (name-tables.ts); the PHP shims apply the same
 * rules from the same tables (Keybridge_Names), and names.vectors.json holds both to it.
 */
export const MAX_NAME_LENGTH = 200;

/** Which rule a refused name broke: the shared vectors (names.vectors.json) name it for both sides. */
export type NameRule =
  'type' | 'length' | 'unicode' | 'invisible' | 'segment' | 'syntax' | 'identifier-status' | 'combining-start' | 'mixed-script';

/** `invalid-name`, and the rule broken. */
export class InvalidNameError extends KeybridgeError {
  constructor(
    readonly rule: NameRule,
    detail: string,
    field: string,
  ) {
    super('invalid-name', detail, { field });
  }
}

const SEGMENT = /^[\p{L}\p{M}\p{N}_.:@-]+$/u;
const SYNTAX = new Set(['_', '.', ':', '@', '-', '/']);
const LETTER_MARK_DIGIT = /^[\p{L}\p{M}\p{N}]$/u;
const COMBINING_MARK = /^\p{M}$/u;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/** UTS #39: Latin may be mixed with these writing systems (Han + kana, Han + Bopomofo, Han + Hangul). */
const LATIN_COMPANIONS = ['Jpan', 'Hanb', 'Kore'];

export function normaliseKeyName(input: unknown, field = 'name'): string {
  if (typeof input !== 'string') {
    throw new InvalidNameError('type', 'must be a string', field);
  }
  if (input.length === 0) throw new InvalidNameError('length', 'must not be empty', field);
  // Checked on the raw input first so a 10 MB name is refused before any work on it.
  if (input.length > MAX_NAME_LENGTH * 4) {
    throw new InvalidNameError('length', `must be at most ${MAX_NAME_LENGTH} characters`, field);
  }
  if (LONE_SURROGATE.test(input)) {
    throw new InvalidNameError('unicode', 'must be valid Unicode text (it holds a lone surrogate)', field);
  }
  const name = input.normalize('NFC');
  if ([...name].length > MAX_NAME_LENGTH) {
    throw new InvalidNameError('length', `must be at most ${MAX_NAME_LENGTH} characters`, field);
  }
  if (/[\p{Cc}\p{Cf}\p{Z}\s]/u.test(name)) {
    throw new InvalidNameError('invisible', 'must not contain whitespace, control or invisible characters', field);
  }
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidNameError('segment', 'must not contain empty, "." or ".." segments', field);
    }
    if (!SEGMENT.test(segment)) {
      throw new InvalidNameError('syntax', 'may contain only letters, digits and _ . : @ - /', field);
    }
  }
  return name;
}

/** A name about to be written: normaliseKeyName's rules and UTS #39's (above). Returns the NFC name. */
export function checkNewKeyName(input: unknown, field = 'name'): string {
  const name = normaliseKeyName(input, field);
  for (const char of name) {
    if (SYNTAX.has(char)) continue;
    const point = char.codePointAt(0) as number;
    if (!isAllowedInIdentifiers(point)) {
      throw new InvalidNameError(
        'identifier-status',
        `contains ${codePoint(point)}, which Unicode does not recommend in identifiers (invisible, look-alike and rarely used characters are refused)`,
        field,
      );
    }
    if (!LETTER_MARK_DIGIT.test(char)) {
      throw new InvalidNameError('syntax', `contains ${codePoint(point)}: may contain only letters, digits and _ . : @ - /`, field);
    }
  }
  for (const segment of name.split('/')) {
    const first = segment.codePointAt(0) as number;
    if (COMBINING_MARK.test(String.fromCodePoint(first))) {
      throw new InvalidNameError('combining-start', `a segment must not start with a combining mark (${codePoint(first)})`, field);
    }
    const scripts = mixedScripts(segment);
    if (scripts !== null) {
      throw new InvalidNameError(
        'mixed-script',
        `mixes scripts that look alike in one segment (${scripts.join(', ')}): write each segment in one script`,
        field,
      );
    }
  }
  return name;
}

/** The confusable skeleton of a checked name: names whose skeletons are equal look alike. */
export function nameSkeleton(name: string): string {
  return skeleton(name);
}

/**
 * UTS #39 "highly restrictive": null when the segment's resolved script set is not empty, or
 * when its characters other than Latin ones resolve to Han with kana, Bopomofo or Hangul.
 * Otherwise the scripts found, for the message.
 */
function mixedScripts(segment: string): string[] | null {
  let resolved: Set<string> | null = null;
  let withoutLatin: Set<string> | null = null;
  const seen = new Set<string>();
  for (const char of segment) {
    const scripts = scriptsOf(char.codePointAt(0) as number);
    if (scripts === null) continue;
    seen.add(scripts[0]);
    resolved = intersect(resolved, scripts);
    if (!scripts.includes('Latn')) withoutLatin = intersect(withoutLatin, scripts);
  }
  if (resolved === null || resolved.size > 0) return null;
  if (withoutLatin === null || LATIN_COMPANIONS.some((system) => withoutLatin?.has(system))) return null;
  return [...seen].sort();
}

function intersect(current: Set<string> | null, scripts: readonly string[]): Set<string> {
  if (current === null) return new Set(scripts);
  return new Set(scripts.filter((script) => current.has(script)));
}

function codePoint(point: number): string {
  return `U+${point.toString(16).toUpperCase().padStart(4, '0')}`;
}

export const MAX_LABEL_LENGTH = 200;
const LABEL_REFUSED = /[\p{Cc}\p{Bidi_Control}\uD800-\uDFFF]/u;

/**
 * A label is free text shown next to a name, so it may hold spaces and punctuation; it may not
 * hold control characters or bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C),
 * which could make a listing show text in another order than it is stored.
 */
export function checkLabel(label: unknown, field = 'label'): string {
  // Characters (code points), as the PHP shims count them; the UTF-16 length bounds the work first.
  if (
    typeof label !== 'string' ||
    label.length > MAX_LABEL_LENGTH * 2 ||
    [...label].length > MAX_LABEL_LENGTH ||
    LABEL_REFUSED.test(label)
  ) {
    throw new KeybridgeError(
      'invalid-field',
      `must be a string of at most ${MAX_LABEL_LENGTH} characters without control or bidi control characters`,
      { field },
    );
  }
  return label;
}
