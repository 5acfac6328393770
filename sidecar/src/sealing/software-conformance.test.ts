import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { rootKeyConformance } from '../../test-helpers/root-key-conformance.ts';
import { openSoftwareRootKey } from './software.ts';

// The same checks run against the PKCS#11 root key in pkcs11.test.ts.
const dir = mkdtempSync(join(tmpdir(), 'kb-rootkey-conf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let count = 0;
// Each place is a key file of its own; opening it again reads the same key.
rootKeyConformance('software', () => {
  const file = join(dir, `root-${++count}.key`);
  return () => openSoftwareRootKey(file);
});
