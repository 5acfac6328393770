/**
 * Derives the key-name tables from the Unicode data files beside this script (README.md):
 *
 *   npx tsx sidecar/unicode/derive-name-tables.ts      # rewrites sidecar/src/agent/keys/name-tables.json
 *
 * The tables are data only, in the form both runtimes read cheaply: inclusive code point
 * ranges as flat arrays, sorted, for a binary search. They hold nothing chosen by hand: the
 * only rules here are UTS #39's own (the augmented script sets of section 5.1).
 * The agent imports the JSON (names.ts); the shim generator turns the same JSON into PHP.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const UNICODE_VERSION = '17.0.0';

const DATA_DIR = new URL(`./${UNICODE_VERSION}/`, import.meta.url);
export const TABLES_PATH = new URL('../src/agent/keys/name-tables.json', import.meta.url);

export interface NameTables {
  unicodeVersion: string;
  /** Identifier_Status=Allowed: [first, last, first, last, …], sorted, adjacent ranges merged. */
  allowed: number[];
  /**
   * The augmented Script_Extensions of every allowed character that belongs to particular
   * scripts: [first, last, set, …], `set` an index into `scriptSets`. An allowed character
   * outside every range is Common or Inherited: it goes with any script.
   */
  scripts: number[];
  /** Sets of ISO 15924 script codes, each sorted. */
  scriptSets: string[][];
  /** confusables.txt: [source code point, prototype string], sorted by source. */
  confusables: [number, string][];
}

/** UTS #39 section 5.1: scripts written together with others get those writing systems too. */
const AUGMENTED: Record<string, string[]> = {
  Hani: ['Hanb', 'Jpan', 'Kore'],
  Hira: ['Jpan'],
  Kana: ['Jpan'],
  Hang: ['Kore'],
  Bopo: ['Hanb'],
};

/** Common and Inherited: characters that take any script (UTS #39: the set of all scripts). */
const ANY_SCRIPT = new Set(['Zyyy', 'Zinh']);

/** The data lines of a UCD file: fields split on `;`, comments and blank lines dropped. */
function records(file: string): string[][] {
  const text = readFileSync(new URL(file, DATA_DIR), 'utf8');
  const rows: string[][] = [];
  for (const line of text.split('\n')) {
    const data = line.replace(/#.*/, '').trim();
    if (data !== '') rows.push(data.split(';').map((field) => field.trim()));
  }
  return rows;
}

function range(field: string): [number, number] {
  const [first, last = first] = field.split('..');
  return [parseInt(first, 16), parseInt(last, 16)];
}

function allowedCodePoints(): Set<number> {
  const allowed = new Set<number>();
  for (const [points, status] of records('IdentifierStatus.txt')) {
    if (status !== 'Allowed') continue;
    const [first, last] = range(points);
    for (let point = first; point <= last; point++) allowed.add(point);
  }
  return allowed;
}

/** Script_Extensions of every code point that has one other than Common/Inherited alone. */
function scriptExtensions(): Map<number, string[]> {
  const shortNames = new Map<string, string>();
  for (const [property, short, long] of records('PropertyValueAliases.txt')) {
    if (property === 'sc') shortNames.set(long, short);
  }
  const extensions = new Map<number, string[]>();
  for (const [points, long] of records('Scripts.txt')) {
    const short = shortNames.get(long);
    if (short === undefined) throw new Error(`Scripts.txt names an unknown script ${long}`);
    const [first, last] = range(points);
    for (let point = first; point <= last; point++) extensions.set(point, [short]);
  }
  // ScriptExtensions.txt lists the characters used by several scripts; it wins over Scripts.txt.
  for (const [points, shorts] of records('ScriptExtensions.txt')) {
    const [first, last] = range(points);
    for (let point = first; point <= last; point++) extensions.set(point, shorts.split(/\s+/));
  }
  return extensions;
}

function augmented(scripts: readonly string[]): string[] | null {
  if (scripts.some((script) => ANY_SCRIPT.has(script))) return null;
  const set = new Set(scripts);
  for (const script of scripts) for (const extra of AUGMENTED[script] ?? []) set.add(extra);
  return [...set].sort();
}

function flatRanges(points: number[]): number[] {
  const flat: number[] = [];
  for (const point of points) {
    if (flat.length > 0 && flat[flat.length - 1] === point - 1) flat[flat.length - 1] = point;
    else flat.push(point, point);
  }
  return flat;
}

export function deriveNameTables(): NameTables {
  const allowed = [...allowedCodePoints()].sort((a, b) => a - b);
  const extensions = scriptExtensions();

  const scriptSets: string[][] = [];
  const setIndex = new Map<string, number>();
  const scripts: number[] = [];
  for (const point of allowed) {
    const set = augmented(extensions.get(point) ?? ['Zzzz']);
    if (set === null) continue;
    const key = set.join(' ');
    let index = setIndex.get(key);
    if (index === undefined) {
      index = scriptSets.push(set) - 1;
      setIndex.set(key, index);
    }
    const at = scripts.length;
    if (at > 0 && scripts[at - 2] === point - 1 && scripts[at - 1] === index) scripts[at - 2] = point;
    else scripts.push(point, point, index);
  }

  const confusables: [number, string][] = [];
  for (const [source, target, kind] of records('confusables.txt')) {
    if (kind !== 'MA') continue;
    const prototype = String.fromCodePoint(...target.split(/\s+/).map((hex) => parseInt(hex, 16)));
    confusables.push([parseInt(source, 16), prototype]);
  }
  confusables.sort((a, b) => a[0] - b[0]);

  return { unicodeVersion: UNICODE_VERSION, allowed: flatRanges(allowed), scripts, scriptSets, confusables };
}

/** JSON with every non-ASCII character escaped, so the file reads the same in any editor. */
export function renderNameTables(tables: NameTables): string {
  const lines = [
    '{',
    `"unicodeVersion": ${JSON.stringify(tables.unicodeVersion)},`,
    `"allowed": ${JSON.stringify(tables.allowed)},`,
    `"scripts": ${JSON.stringify(tables.scripts)},`,
    `"scriptSets": ${JSON.stringify(tables.scriptSets)},`,
    `"confusables": [`,
    tables.confusables.map((pair) => JSON.stringify(pair)).join(',\n'),
    ']',
    '}',
  ];
  return `${lines.join('\n').replace(/[^\x20-\x7e\n]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(TABLES_PATH, renderNameTables(deriveNameTables()));
  console.log(`wrote ${fileURLToPath(TABLES_PATH)}`);
}
