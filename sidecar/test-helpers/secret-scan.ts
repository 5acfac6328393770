import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the secret scans share (the WordPress and Drupal passes' and `keybridge up`'s): the
 * files to read and the forms a value could take in them.
 */

/** Every regular file under dir, recursively (sockets and the like skipped: nothing is stored in them). */
export function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else if (entry.isFile()) found.push(path);
  }
  return found;
}

/**
 * The forms a value could take in a file: as is, base64 without its padding (so padded and
 * unpadded copies both match), base64url, hex.
 */
export function encodings(value: string): Buffer[] {
  const raw = Buffer.from(value);
  return [
    raw,
    Buffer.from(raw.toString('base64').replace(/=+$/, '')),
    Buffer.from(raw.toString('base64url')),
    Buffer.from(raw.toString('hex')),
  ];
}
