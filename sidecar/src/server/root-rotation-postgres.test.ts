import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { makeServerHome, secretFile, testPostgres, type ServerHome } from '../../test-helpers/root-rotation/fixture.ts';
import { rootRotationSuite } from '../../test-helpers/root-rotation/suite.ts';

// Software root keys on a real PostgreSQL (fixtures/postgres), a fresh database per home.
const base = mkdtempSync(join(tmpdir(), 'kb-rotation-pg-'));
const postgres = testPostgres(base);
let homes = 0;

rootRotationSuite('PostgreSQL, software root key', {
  makeHome: async () => {
    const dir = mkdtempSync(join(base, `home-${++homes}-`));
    const urlFile = secretFile(join(dir, 'pg-url'), await postgres.database());
    return makeServerHome(dir, `{ kind: postgres, urlFile: ${urlFile} }`, '{ kind: software }');
  },
  keyGone: async (home: ServerHome, locator: string) =>
    home.config.rootKey.kind === 'software' && !existsSync(join(dirname(home.config.rootKey.file), locator)),
  crashPoints: ['resealed:3'],
});
