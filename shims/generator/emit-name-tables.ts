/**
 * Emits `Keybridge_Name_Tables`: the agent's key-name tables (sidecar/src/agent/keys/
 * name-tables.json, derived from Unicode's UTS #39 data files) as PHP, so Keybridge_Names
 * applies exactly the tables the agent does. The data is written in the UCD files' own
 * notation (hex code points, `..` ranges) in string constants, which Keybridge_Names parses
 * once per request that checks a name: a PHP array of 10,000 entries would be as many lines.
 */
import tables from '../../sidecar/src/agent/keys/name-tables.json' with { type: 'json' };
import { docBlock, generatedFileHeader } from './php-doc.ts';
import { phpLiteral } from './php-literal.ts';
import type { ShimTarget } from './target.ts';

const LINE = 96;

function hex(point: number): string {
  return point.toString(16).toUpperCase().padStart(4, '0');
}

function range(first: number, last: number): string {
  return first === last ? hex(first) : `${hex(first)}..${hex(last)}`;
}

/** Space-separated items as a PHP string constant, concatenated over lines of about LINE characters. */
function stringConstant(name: string, summary: string, items: string[]): string {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    if (line !== '' && line.length + item.length + 1 > LINE) {
      lines.push(line);
      line = '';
    }
    line += `${item} `;
  }
  if (line !== '') lines.push(line);
  const body = lines.map((text) => `'${text}'`).join(`\n\t\t. `);
  return `${docBlock([summary], [], 1)}\n\tconst ${name} = ${body};`;
}

export function emitNameTablesClass(target: ShimTarget): string {
  const className = `${target.classPrefix}Name_Tables`;
  const allowed: string[] = [];
  for (let at = 0; at < tables.allowed.length; at += 2) allowed.push(range(tables.allowed[at], tables.allowed[at + 1]));
  const scripts: string[] = [];
  for (let at = 0; at < tables.scripts.length; at += 3) {
    scripts.push(`${range(tables.scripts[at], tables.scripts[at + 1])}:${tables.scripts[at + 2]}`);
  }
  const confusables = (tables.confusables as [number, string][]).map(
    ([source, prototype]) => `${hex(source)}=${[...prototype].map((char) => hex(char.codePointAt(0) as number)).join('+')}`,
  );
  return [
    generatedFileHeader(`${className}: Unicode's identifier and confusable data for key names.`, target.packageName, {
      file: 'sidecar/src/agent/keys/name-tables.json',
      what: 'sidecar/unicode/',
    }),
    '',
    docBlock(
      [
        `Unicode ${tables.unicodeVersion} (UTS #39 IdentifierStatus.txt and confusables.txt, UCD Scripts.txt and ScriptExtensions.txt), as the agent reads it: sidecar/unicode/ in the keybridge repository holds the files and the script that derives these tables. Code points in hexadecimal, ranges as FIRST..LAST, items separated by spaces.`,
      ],
      [],
      0,
    ),
    `final class ${className} {`,
    '',
    `${docBlock(['The Unicode version of the data.'], [], 1)}\n\tconst UNICODE_VERSION = '${tables.unicodeVersion}';`,
    '',
    stringConstant('ALLOWED', 'Identifier_Status=Allowed: the characters Unicode recommends for identifiers.', allowed),
    '',
    stringConstant(
      'SCRIPTS',
      'RANGE:SET: the augmented script set (an index into SCRIPT_SETS) of allowed characters; an allowed character in no range goes with every script.',
      scripts,
    ),
    '',
    `${docBlock(['Sets of ISO 15924 script codes.'], [], 1)}\n\tconst SCRIPT_SETS = ${phpLiteral(tables.scriptSets, 1)};`,
    '',
    stringConstant('CONFUSABLES', 'SOURCE=PROTOTYPE: confusables.txt, each prototype as code points joined by +.', confusables),
    '}',
    '',
  ].join('\n');
}
