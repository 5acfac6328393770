import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../sidecar/src/version.ts';
import { REPO_ROOT, buildShims, generatedFiles } from './build.ts';
import { phpLiteral, phpString } from './php-literal.ts';
import { LOCAL_API_MODULE, emitLocalApiModule } from './emit-ts.ts';
import { SPEC_PATH, SpecError, checkSpec, loadSpec, phpMethodName } from './spec.ts';
import { TARGETS, WORDPRESS } from './target.ts';

// Golden files: any drift between the generator and shims/golden/ fails, for every CMS's form of
// the generated files (WordPress's Keybridge_* classes, Drupal's PSR-4 ones). After a deliberate
// change, `UPDATE_GOLDEN=1 npx vitest run shims/generator/generator.test.ts` rewrites the goldens,
// and that run still fails ("goldens were rewritten"): a person reads `git diff shims/golden` and
// runs the tests again without it. `npm test` never passes UPDATE_GOLDEN on.
const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';
const REWRITTEN = 'goldens were rewritten: review the diff (git diff shims/golden) and run again without UPDATE_GOLDEN';
const spec = loadSpec();
const generated = generatedFiles(spec, WORDPRESS, VERSION);
const scratch = mkdtempSync(join(tmpdir(), 'keybridge-shims-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every file under dir, as paths relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

describe('generated PHP equals shims/golden/', () => {
  for (const target of TARGETS) {
    const goldenDir = join(REPO_ROOT, 'shims', 'golden', target.outputDir);
    const files = generatedFiles(spec, target, VERSION);
    for (const file of files) {
      it(`${target.outputDir}/${file.path}`, () => {
        const golden = join(goldenDir, file.path);
        // Compared with what was on disk before any rewrite: a rewritten golden never passes in the run that wrote it.
        const before = existsSync(golden) ? readFileSync(golden, 'utf8') : null;
        if (before !== file.content && UPDATE_GOLDEN) {
          mkdirSync(dirname(golden), { recursive: true });
          writeFileSync(golden, file.content);
          expect.fail(`${target.outputDir}/${file.path}: ${REWRITTEN}`);
        }
        expect(before, `${golden} is missing: run with UPDATE_GOLDEN=1`).not.toBeNull();
        expect(file.content, `${file.path} differs from its golden: a deliberate change? run with UPDATE_GOLDEN=1`).toBe(before);
      });
    }

    it(`holds no golden file under ${target.outputDir} the generator no longer writes`, () => {
      const made = new Set(files.map((file) => file.path));
      const stale = filesUnder(goldenDir).filter((path) => !made.has(path));
      if (stale.length > 0 && UPDATE_GOLDEN) {
        for (const path of stale) rmSync(join(goldenDir, path));
        expect.fail(`removed ${stale.join(', ')}: ${REWRITTEN}`);
      }
      expect(stale, 'golden files nothing generates: run with UPDATE_GOLDEN=1').toEqual([]);
    });
  }
});

describe(`${LOCAL_API_MODULE} is what the spec gives`, () => {
  it('holds the operations, auth labels and limits of spec.yaml (UPDATE_GOLDEN=1 rewrites it)', () => {
    const path = join(REPO_ROOT, LOCAL_API_MODULE);
    const emitted = emitLocalApiModule(spec);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, emitted);
    expect(readFileSync(path, 'utf8'), `${LOCAL_API_MODULE} is stale: run with UPDATE_GOLDEN=1`).toBe(emitted);
  });

  it('turns every limit into a number in both languages', () => {
    const specClass = String(generated.find((file) => file.path.endsWith('class-keybridge-spec.php'))?.content);
    expect(spec.limits.fetch_names).toBe(100);
    for (const [name, value] of Object.entries(spec.limits)) expect(specClass).toMatch(new RegExp(`'${name}'\\s+=> ${value},`));
    expect(emitLocalApiModule(spec)).toContain('fetchNames: 100,');
  });
});

describe('the generated PHP covers the whole spec', () => {
  const client = String(generated.find((file) => file.path.endsWith('class-keybridge-client.php'))?.content);
  const specClass = String(generated.find((file) => file.path.endsWith('class-keybridge-spec.php'))?.content);

  it('has one client method per operation, calling it by id', () => {
    expect(spec.operations.length).toBeGreaterThan(10);
    for (const op of spec.operations) {
      expect(client).toMatch(new RegExp(`public function ${phpMethodName(op.id)}\\(`));
      expect(client).toContain(`$this->call( ${phpString(op.id)}`);
      expect(specClass).toContain(`${phpString(op.id)} `);
      expect(specClass).toMatch(new RegExp(`'path' +=> ${phpString(op.path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')},`));
    }
    expect(client).toContain('public function keys_set( array $body ): array');
    expect(client).toContain('public function certificates_revoke(): array');
    expect(client).toContain('public function health(): array');
  });

  it('lists every status row, problem type, client problem type, admin operation and form', () => {
    for (const row of spec.statusRows) expect(specClass).toContain(`${phpString(row.id)}`);
    for (const row of spec.statusRows) expect(specClass).toContain(phpString(row.title));
    for (const type of spec.problemTypes) expect(specClass).toContain(phpString(type));
    for (const item of spec.clientProblemTypes) expect(specClass).toContain(phpString(item.title));
    for (const form of spec.forms) expect(specClass).toContain(`'id'         => ${phpString(form.id)}`);
    expect(specClass).toContain(`const VERSION = ${phpString(VERSION)};`);
  });

  it('starts each generated file with a comment naming its source (spec.yaml, or the name tables)', () => {
    for (const file of generated) {
      expect(String(file.content).split('\n').slice(0, 6).join('\n')).toContain(`GENERATED from ${file.source}`);
      expect(['shims/spec.yaml', 'sidecar/src/agent/keys/name-tables.json']).toContain(file.source);
    }
  });
});

describe('a bad spec stops the build with the field named', () => {
  const good = parse(readFileSync(SPEC_PATH, 'utf8'));
  const broken = (change: (doc: any) => void) => {
    const doc = structuredClone(good);
    change(doc);
    return () => checkSpec(doc);
  };

  it('missing field', () => {
    expect(broken((doc) => delete doc.operations[3].method)).toThrow('spec.yaml: operations[3].method: missing (expected a string)');
    expect(broken((doc) => delete doc.status_rows)).toThrow('spec.yaml: status_rows: missing (expected a list)');
    expect(broken((doc) => delete doc.forms[1].fields[0].label)).toThrow('spec.yaml: forms[1].fields[0].label: missing');
  });

  it('duplicate operation id', () => {
    const fn = broken((doc) => doc.operations.push({ ...doc.operations[0] }));
    expect(fn).toThrow(SpecError);
    expect(fn).toThrow(`spec.yaml: operations[${good.operations.length}]: duplicate operation id "health"`);
  });

  it('wrong values', () => {
    expect(broken((doc) => (doc.operations[0].method = 'PUT'))).toThrow('operations[0].method: "PUT" is not GET or POST');
    expect(broken((doc) => (doc.operations[2].path = '/v2/keys'))).toThrow('operations[2].path: "/v2/keys" is not under base_path /v1');
    expect(broken((doc) => (doc.operations[4].timeout_ms = -1))).toThrow('operations[4].timeout_ms: expected a positive integer');
    expect(broken((doc) => doc.admin_operations.push('keys.steal'))).toThrow('admin_operations[10]: "keys.steal" is not an operation id');
    expect(broken((doc) => (doc.forms[0].shown_when = 'sometimes'))).toThrow('forms[0].shown_when: "sometimes"');
    expect(broken((doc) => doc.problem_types.push('not-configured'))).toThrow('duplicate problem type');
    expect(broken((doc) => (doc.operations[3].request.required = ['nope']))).toThrow(
      'operations[3].request.required[0]: "nope" is not among the request properties',
    );
  });

  it('a failed build leaves the previous shim in place, whole', () => {
    const out = join(scratch, 'atomic');
    const first = buildShims({ outDir: out });
    const before = readFileSync(join(first.pluginDir, 'includes/class-keybridge-client.php'), 'utf8');
    // A copy of the repo's shims/ with a broken spec, built into the same --out.
    const root = join(scratch, 'root');
    mkdirSync(join(root, 'shims'), { recursive: true });
    mkdirSync(join(root, 'admin-ui'), { recursive: true });
    const doc = structuredClone(good);
    delete doc.operations[0].id;
    writeFileSync(join(root, 'shims', 'spec.yaml'), stringify(doc));
    expect(() => buildShims({ outDir: out, root })).toThrow('spec.yaml: operations[0].id: missing');
    expect(readFileSync(join(first.pluginDir, 'includes/class-keybridge-client.php'), 'utf8')).toBe(before);
    // A template clash fails after files were staged: still nothing half written, no scratch left.
    writeFileSync(join(root, 'shims', 'spec.yaml'), readFileSync(SPEC_PATH));
    mkdirSync(join(root, 'shims', 'templates', 'common'), { recursive: true });
    writeFileSync(join(root, 'shims', 'templates', 'common', 'class-keybridge-client.php'), '<?php\n');
    expect(() => buildShims({ outDir: out, root })).toThrow(
      'would come from both shims/spec.yaml and shims/templates/common/class-keybridge-client.php',
    );
    expect(readFileSync(join(first.pluginDir, 'includes/class-keybridge-client.php'), 'utf8')).toBe(before);
    rmSync(join(root, 'admin-ui'), { recursive: true });
    rmSync(join(root, 'shims', 'templates'), { recursive: true });
    expect(() => buildShims({ outDir: out, root })).toThrow('the admin-ui folder is missing');
    expect(readdirSync(out)).toEqual(['drupal', 'wordpress']);
  });
});

describe('build output', () => {
  it('copies templates with {{version}} replaced, and the admin-ui bundle', () => {
    const { pluginDir, files } = buildShims({ outDir: join(scratch, 'out') });
    expect(pluginDir).toBe(join(scratch, 'out', 'wordpress', 'keybridge'));
    for (const name of ['class-keybridge-exception.php', 'class-keybridge-kb1.php', 'class-keybridge-ciphertext-cache.php']) {
      expect(files).toContain(`includes/${name}`);
      expect(readFileSync(join(pluginDir, 'includes', name), 'utf8')).toBe(
        readFileSync(join(REPO_ROOT, 'shims', 'templates', 'common', name), 'utf8').replace(/\{\{version\}\}/g, VERSION),
      );
    }
    for (const file of files) {
      if (/\.(php|js|css)$/.test(file)) expect(readFileSync(join(pluginDir, file), 'utf8'), file).not.toContain('{{version}}');
    }
  });
});

describe('phpLiteral', () => {
  it('writes WordPress-style arrays and safe strings', () => {
    expect(phpLiteral([])).toBe('array()');
    expect(phpLiteral(['a', 1, true, null])).toBe("array( 'a', 1, true, null )");
    expect(phpLiteral({ a: 1 })).toBe("array( 'a' => 1 )");
    expect(phpLiteral({ a: 1, long: 'x' })).toBe("array(\n\t'a'    => 1,\n\t'long' => 'x',\n)");
    expect(phpString("it's \\ $x")).toBe("'it\\'s \\\\ $x'");
    expect(phpString('line\n$x {$y}')).toBe('"line\\n\\$x {\\$y}"');
    expect(phpString('nul\u0000')).toBe('"nul\\x00"');
  });
});
