/**
 * Canonical JSON: the exact bytes a signature covers, so signer and verifier agree without
 * sending the signed text itself. Object keys sorted by UTF-16 code units, no white space,
 * strings and numbers as JSON.stringify writes them — the same output as RFC 8785 (JCS) for the
 * strings, integers and plain objects signed here, reproducible in any language.
 */

/**
 * `value` as canonical JSON. Refuses what has no single JSON form rather than guessing:
 * undefined, functions, symbols, bigints, non-finite numbers and non-plain objects (Dates, Maps,
 * class instances) throw a TypeError.
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

function write(value: unknown, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: numbers must be finite');
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
  const object = value as object;
  if (seen.has(object)) throw new TypeError('canonicalJson: the value is circular');
  seen.add(object);
  try {
    if (Array.isArray(object)) return `[${object.map((item) => write(item, seen)).join(',')}]`;
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) throw new TypeError('canonicalJson: only plain objects');
    const record = object as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 asks for.
    const keys = Object.keys(record).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${write(record[key], seen)}`).join(',')}}`;
  } finally {
    seen.delete(object);
  }
}
