import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * DESIGN.md's arrows, held against the imports: every relative import of every shipped file
 * under sidecar/src must go to a folder its own folder may use. The table is an allow-list,
 * so a new folder has to be placed in it on purpose. Tests (*.test.ts) may import anything,
 * including sidecar/test-helpers/; shipped code may not.
 */
const SRC = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(SRC, '../..');

/** The part of the tree a file belongs to: its first folder under src/, or the top-level file. */
type Part = string;

const BASE: Part[] = ['errors.ts', 'files.ts', 'version.ts'];

export const ALLOWED: Record<Part, { may: Part[]; why: string }> = {
  'errors.ts': { may: [], why: 'the problem types depend on nothing' },
  'files.ts': { may: [], why: 'file helpers depend on nothing' },
  'version.ts': { may: [], why: 'the version depends on nothing' },
  crypto: { may: ['errors.ts'], why: 'crypto imports only errors.ts' },
  protocol: { may: ['crypto', 'errors.ts'], why: 'the wire shapes depend only on crypto types' },
  http: { may: ['errors.ts'], why: 'the shared HTTP helpers serve agent and key service alike' },
  pki: { may: ['crypto', 'errors.ts'], why: 'certificates are crypto, used by agent and key service' },
  config: { may: ['protocol', 'crypto', ...BASE], why: 'config validates YAML; it assembles nothing' },
  storage: { may: ['protocol', 'crypto', ...BASE], why: 'storage is reached by server and roles only' },
  sealing: { may: ['crypto', ...BASE], why: 'sealing is reached by server and roles only' },
  server: {
    may: ['storage', 'sealing', 'pki', 'protocol', 'crypto', 'http', ...BASE],
    why: 'the key service never imports the agent, the roles or the CLI',
  },
  agent: {
    may: ['pki', 'protocol', 'crypto', 'http', 'config', ...BASE],
    why: 'the agent never imports server, storage or sealing: it reaches the key service over mTLS',
  },
  roles: {
    may: ['agent', 'server', 'storage', 'sealing', 'pki', 'protocol', 'crypto', 'http', 'config', ...BASE],
    why: 'roles/ is the only place that composes agent and server',
  },
  cli: {
    may: ['roles', 'config', 'protocol', 'crypto', ...BASE, 'shims/generator'],
    why: 'the CLI talks to the agent over HTTP and never imports agent or server internals',
  },
};

export interface Violation {
  file: string;
  imports: string;
  rule: string;
}

/** The part of a repo-relative path under sidecar/src, or the outside folder it lies in. */
export function partOf(repoPath: string): Part {
  if (repoPath.startsWith('sidecar/src/')) {
    const rest = repoPath.slice('sidecar/src/'.length);
    return rest.includes('/') ? rest.slice(0, rest.indexOf('/')) : rest;
  }
  if (repoPath.startsWith('shims/generator/')) return 'shims/generator';
  return repoPath.split('/').slice(0, 2).join('/');
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']+)'/g;

/** Relative specifiers a file imports (static, side-effect and dynamic imports). */
export function importsOf(text: string): string[] {
  return [...text.matchAll(IMPORT)].map((match) => match[1]);
}

/** Checks one shipped file's imports against the table. */
export function checkFile(repoPath: string, text: string): Violation[] {
  const part = partOf(repoPath);
  const rule = ALLOWED[part];
  const violations: Violation[] = [];
  for (const specifier of importsOf(text)) {
    const target = relative(REPO, resolve(REPO, dirname(repoPath), specifier));
    const targetPart = partOf(target);
    if (targetPart === part) continue;
    if (!rule) {
      violations.push({
        file: repoPath,
        imports: target,
        rule: `${part} is not in the architecture table (sidecar/src/architecture.test.ts)`,
      });
    } else if (!rule.may.includes(targetPart)) {
      const why = target.startsWith('sidecar/test-helpers/') ? 'shipped code never imports test helpers' : rule.why;
      violations.push({ file: repoPath, imports: target, rule: why });
    }
  }
  return violations;
}

function shippedFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...shippedFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

describe('architecture: the arrows of DESIGN.md', () => {
  it('holds for every import of every shipped file under sidecar/src', () => {
    const files = shippedFiles(SRC);
    expect(files.length).toBeGreaterThan(100);
    const violations = files.flatMap((file) => checkFile(relative(REPO, file), readFileSync(file, 'utf8')));
    expect(violations.map((v) => `${v.file} imports ${v.imports}: ${v.rule}`)).toEqual([]);
  });

  it('finds the imports it checks (static, type-only, side-effect, dynamic)', () => {
    const text = [
      "import { a } from '../agent/agent.ts';",
      "import type { B } from './b.ts';",
      "import '../server/side-effect.ts';",
      "const c = await import('../storage/sqlite/registry.ts');",
      "import { readFileSync } from 'node:fs';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['../agent/agent.ts', './b.ts', '../server/side-effect.ts', '../storage/sqlite/registry.ts']);
  });

  it('fails on an arrow DESIGN.md forbids', () => {
    const cases: [string, string, RegExp][] = [
      ['sidecar/src/agent/keys/keys.ts', "import { KeyService } from '../../server/key-service.ts';", /agent never imports server/],
      ['sidecar/src/agent/agent.ts', "const s = await import('../storage/sqlite/registry.ts');", /agent never imports server, storage/],
      ['sidecar/src/crypto/kb1.ts', "import type { X } from '../protocol/keyservice.ts';", /crypto imports only errors/],
      ['sidecar/src/cli/commands/up.ts', "import { listen } from '../../agent/http/listen.ts';", /CLI .* never imports agent/],
      ['sidecar/src/server/key-service.ts', "import { up } from '../roles/up.ts';", /key service never imports the agent, the roles/],
      ['sidecar/src/config/agent.ts', "import type { P } from '../agent/certs/partner.ts';", /config .* assembles nothing/],
      [
        'sidecar/src/server/root-rotation.ts',
        "import { fixture } from '../../test-helpers/root-rotation/fixture.ts';",
        /never imports test helpers/,
      ],
      ['sidecar/src/newpart/x.ts', "import { a } from '../errors.ts';", /newpart is not in the architecture table/],
    ];
    for (const [file, text, rule] of cases) {
      const violations = checkFile(file, text);
      expect(violations, `${file}: ${text}`).toHaveLength(1);
      expect(violations[0].rule).toMatch(rule);
    }
  });

  it('lets each part use what the table allows', () => {
    expect(
      checkFile(
        'sidecar/src/roles/up.ts',
        "import { startAgent } from './agent.ts';\nimport { KeyService } from '../server/key-service.ts';",
      ),
    ).toEqual([]);
    expect(checkFile('sidecar/src/cli/commands/shims.ts', "import { build } from '../../../../shims/generator/build.ts';")).toEqual([]);
    expect(checkFile('sidecar/src/agent/keys/keys.ts', "import { wrap } from '../../crypto/index.ts';")).toEqual([]);
  });
});
