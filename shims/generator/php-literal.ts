/**
 * Writes JSON-like data as PHP literals in WordPress style, so generated constants read
 * like hand-written code and pass PHPCS:
 *
 *   array( 'a', 'b' )                    short lists of scalars stay on one line
 *   array(
 *   	'name'  => 'value',               one item per line, `=>` aligned (WordPress.Arrays.
 *   	'other' => array( 'x' ),          MultipleStatementAlignment), trailing comma
 *   )
 *
 * Strings are single-quoted with only `\` and `'` escaped (the only escapes PHP reads in
 * single quotes); a string with control characters is double-quoted with every special
 * character escaped, so no `$` or `{` can ever interpolate.
 */

export type PhpValue = null | boolean | number | string | PhpValue[] | { [key: string]: PhpValue };

/** Longest one-line array (characters of the literal) before it is broken into lines. */
const ONE_LINE_MAX = 72;
const TAB = '\t';

export function phpString(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what needs escaping here
  if (!/[\x00-\x1f\x7f]/.test(value)) return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '\\' || char === '"' || char === '$') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\t') out += '\\t';
    else if (char === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

function scalar(value: null | boolean | number | string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as a PHP literal`);
    return String(value);
  }
  return phpString(value);
}

function isScalar(value: PhpValue): value is null | boolean | number | string {
  return value === null || typeof value !== 'object';
}

/**
 * The PHP literal for `value`. `indent` is the tab depth of the line the literal starts
 * on; continuation lines are indented from there.
 */
export function phpLiteral(value: PhpValue, indent = 0): string {
  if (isScalar(value)) return scalar(value);
  const entries: [string | null, PhpValue][] = Array.isArray(value)
    ? value.map((item) => [null, item])
    : Object.entries(value).map(([key, item]) => [phpString(key), item]);
  if (entries.length === 0) return 'array()';

  // One line: a list of scalars, or a single scalar pair (WordPress allows one key per line only
  // when there is one item).
  const allScalar = entries.every(([, item]) => isScalar(item));
  const oneLineAllowed = allScalar && (Array.isArray(value) || entries.length === 1);
  if (oneLineAllowed) {
    const inner = entries.map(([key, item]) => (key === null ? '' : `${key} => `) + scalar(item as never)).join(', ');
    const literal = `array( ${inner} )`;
    if (literal.length <= ONE_LINE_MAX) return literal;
  }

  const width = Math.max(0, ...entries.map(([key]) => (key === null ? 0 : key.length)));
  const pad = TAB.repeat(indent + 1);
  const lines = entries.map(([key, item]) => {
    const head = key === null ? '' : `${key.padEnd(width)} => `;
    return `${pad}${head}${phpLiteral(item, indent + 1)},`;
  });
  return `array(\n${lines.join('\n')}\n${TAB.repeat(indent)})`;
}
