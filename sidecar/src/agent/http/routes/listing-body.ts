import type { KeyListing, KeyPage } from '../../keys/keys.ts';
import { encodeCursor } from './listing-query.ts';

/**
 * The JSON bytes of a keys.list page, made as rarely as possible: the name index hands out
 * the same object for a key while nothing about it changed, so a key's JSON is kept per
 * object, and a whole page's bytes are kept while the same objects make it up (checking
 * 1,000 identities costs microseconds; building and encoding 130 kB of JSON costs a good part
 * of a millisecond, on the event loop that also answers reads: issue 13, finding 8).
 */
const UTF8 = new TextEncoder();

export function listingBodies(): (environment: string, page: KeyPage) => Uint8Array<ArrayBuffer> {
  const keyJson = new WeakMap<KeyListing, string>();
  /** By the page's first key: the last page made starting there. */
  const pages = new WeakMap<
    KeyListing,
    { environment: string; keys: readonly KeyListing[]; next: string | null; body: Uint8Array<ArrayBuffer> }
  >();

  const jsonOf = (key: KeyListing): string => {
    let json = keyJson.get(key);
    if (json === undefined) {
      json = JSON.stringify({ name: key.name, label: key.label, version: key.version, updated_at: key.updatedAt, reads: key.reads });
      keyJson.set(key, json);
    }
    return json;
  };

  return (environment, page) => {
    const first = page.keys[0];
    const kept = first === undefined ? undefined : pages.get(first);
    if (kept && kept.environment === environment && kept.next === page.next && sameKeys(kept.keys, page.keys)) return kept.body;
    const next = page.next === null ? '' : `,"next_cursor":${JSON.stringify(encodeCursor(page.next))}`;
    const body = UTF8.encode(`{"environment":${JSON.stringify(environment)},"keys":[${page.keys.map(jsonOf).join(',')}]${next}}`);
    if (first !== undefined) pages.set(first, { environment, keys: page.keys, next: page.next, body });
    return body;
  };
}

function sameKeys(a: readonly KeyListing[], b: readonly KeyListing[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}
