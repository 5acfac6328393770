import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';
import { makeServerHome, type ServerHome } from '../../test-helpers/root-rotation/fixture.ts';
import { rootRotationSuite } from '../../test-helpers/root-rotation/suite.ts';

// Software root keys on real SQLite; PostgreSQL in root-rotation-postgres.test.ts, PKCS#11
// (SoftHSM) in root-rotation-pkcs11.test.ts: separate files so they run in parallel.
const base = mkdtempSync(join(tmpdir(), 'kb-rotation-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let homes = 0;
const newDir = (): string => mkdtempSync(join(base, `home-${++homes}-`));

const softwareGone = async (home: ServerHome, locator: string): Promise<boolean> =>
  home.config.rootKey.kind === 'software' && !existsSync(join(dirname(home.config.rootKey.file), locator));

rootRotationSuite('SQLite, software root key', {
  makeHome: () => makeServerHome(newDir(), '{ kind: sqlite }', '{ kind: software }'),
  keyGone: softwareGone,
  // Every step once here; the other backends repeat the steps where they differ.
  crashPoints: ['planned', 'activated', 'resealed:4', 'ca-resealed', 'destroyed'],
});
