import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../sidecar/src/version.ts';
import { REPO_ROOT, sharedFiles } from './build.ts';
import { lexPhp, namespaceSharedPhp, psr4ClassName } from './php-namespace.ts';
import { loadSpec } from './spec.ts';
import { DRUPAL, WORDPRESS } from './target.ts';

const scratch = mkdtempSync(join(tmpdir(), 'keybridge-php-namespace-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const file = (content: string, source = 'templates/common/x.php') => ({ content, source });

describe('psr4ClassName', () => {
  it('drops the prefix and the underscores, and keeps names that would read as PHP classes apart', () => {
    expect(psr4ClassName('Keybridge_Agent_Connection')).toBe('AgentConnection');
    expect(psr4ClassName('Keybridge_Kb1')).toBe('Kb1');
    expect(psr4ClassName('Keybridge_Exception')).toBe('KeybridgeException');
    expect(() => psr4ClassName('Other_Class')).toThrow('is not a Keybridge_* class');
  });
});

describe('namespaceSharedPhp', () => {
  const a = `<?php\n/**\n * Keybridge_A: one.\n *\n * @package Keybridge\n */\n\n/**\n * Uses Keybridge_B and Normalizer.\n */\nfinal class Keybridge_A {\n\t/**\n\t * @throws Keybridge_B When not.\n\t * @param Throwable|null $e A cause.\n\t */\n\tpublic function run( $e = null ) {\n\t\t$x = new RuntimeException( 'Keybridge_Unknown stays in a string' );\n\t\t// Keybridge_Unknown in a comment stays too.\n\t\treturn Normalizer::normalize( Keybridge_B::NAME ) . $this->Keybridge_method ?? JSON_ERROR_NONE;\n\t}\n}\n`;
  const b = `<?php\nclass Keybridge_B extends RuntimeException {\n\tconst NAME = 'b';\n}\n`;

  it('renames shared classes in code and comments, imports the global classes, and puts the namespace after the file docblock', () => {
    const [outA, outB] = namespaceSharedPhp([file(a), file(b, 'b.php')], 'Drupal\\keybridge\\Common');
    expect(outA.className).toBe('A');
    expect(outB.className).toBe('B');
    expect(outA.content).toContain(
      ' * A: one.\n *\n * @package Keybridge\n */\n\nnamespace Drupal\\keybridge\\Common;\n\nuse Normalizer;\nuse RuntimeException;\nuse Throwable;\n\n/**\n * Uses B and Normalizer.',
    );
    expect(outA.content).toContain('final class A {');
    expect(outA.content).toContain('@throws B When not.');
    expect(outA.content).toContain("'Keybridge_Unknown stays in a string'");
    expect(outA.content).toContain('// Keybridge_Unknown in a comment stays too.');
    expect(outA.content).toContain('Normalizer::normalize( B::NAME )');
    expect(outB.content).toBe(
      `<?php\n\nnamespace Drupal\\keybridge\\Common;\n\nuse RuntimeException;\n\nclass B extends RuntimeException {\n\tconst NAME = 'b';\n}\n`,
    );
  });

  it('refuses what it cannot rewrite safely, naming the file', () => {
    expect(() =>
      namespaceSharedPhp([file(b), file(`<?php\nclass Keybridge_C {\n\tpublic $x = 'Keybridge_B';\n}\n`, 'c.php')], 'N'),
    ).toThrow('c.php: Keybridge_B is named inside a string; refer to it as Keybridge_B::class');
    expect(() =>
      namespaceSharedPhp(
        [file(`<?php\nclass Keybridge_C {\n\tpublic function f() { return Keybridge_Keys::instance(); }\n}\n`, 'c.php')],
        'N',
      ),
    ).toThrow("c.php: Keybridge_Keys is not a shared class: the shared PHP must not use one CMS's glue");
    expect(() => namespaceSharedPhp([file(`<?php\nclass Keybridge_C {}\nclass Keybridge_D {}\n`, 'c.php')], 'N')).toThrow(
      'c.php: a shared PHP file must declare exactly one',
    );
    expect(() => lexPhp(`<?php\n$x = <<<EOT\nKeybridge_B\nEOT;\n`, 'h.php')).toThrow('h.php: heredoc and nowdoc are not supported');
  });
});

describe('the shared library in both forms', () => {
  const spec = loadSpec();

  it('is the same source: the Drupal form differs from the WordPress form only in names and the namespace lines', () => {
    const wordpress = sharedFiles(REPO_ROOT, spec, WORDPRESS, VERSION);
    const drupal = sharedFiles(REPO_ROOT, spec, DRUPAL, VERSION);
    expect(drupal.map((f) => f.path).sort()).toEqual(
      [
        'AgentConnection',
        'AgentProof',
        'CiphertextCache',
        'Client',
        'HttpExchange',
        'Kb1',
        'KeybridgeException',
        'NameTables',
        'Names',
        'Spec',
      ].map((name) => `src/Common/${name}.php`),
    );
    for (const [index, wp] of wordpress.entries()) {
      const dr = drupal[index];
      expect(dr.source).toBe(wp.source);
      const strip = (text: string) =>
        text
          .split('\n')
          .filter((line) => !/^(namespace |use )/.test(line))
          .join('\n')
          .replace(/Keybridge_Exception\b/g, 'KeybridgeException')
          .replace(/Keybridge_([A-Za-z0-9_]+)/g, (_, name: string) => name.replace(/_/g, ''))
          .replace(/\n{3,}/g, '\n\n');
      expect(strip(String(dr.content))).toBe(strip(String(wp.content)));
    }
  });

  it('loads in PHP as Drupal\\keybridge\\Common classes, and opens the shared kb1 vectors', () => {
    const drupal = sharedFiles(REPO_ROOT, spec, DRUPAL, VERSION);
    for (const f of drupal) {
      const path = join(scratch, f.path);
      execFileSync('mkdir', ['-p', join(scratch, 'src', 'Common')]);
      writeFileSync(path, f.content);
    }
    const vectors = join(REPO_ROOT, 'sidecar', 'src', 'crypto', 'kb1.vectors.json');
    const script = join(scratch, 'run.php');
    writeFileSync(
      script,
      `<?php
spl_autoload_register(function ($class) {
  $prefix = 'Drupal\\\\keybridge\\\\Common\\\\';
  if (strpos($class, $prefix) === 0) require __DIR__ . '/src/Common/' . substr($class, strlen($prefix)) . '.php';
});
use Drupal\\keybridge\\Common\\Kb1;
use Drupal\\keybridge\\Common\\KeybridgeException;
$vectors = json_decode(file_get_contents($argv[1]), true);
$opened = 0;
foreach ($vectors['vectors'] as $v) {
  $value = Kb1::open($v['ciphertext'], $v['kek'], $v['site_id'], $v['environment'], $v['key_id'], $v['kek_id']);
  if ($value !== hex2bin($v['plaintext_hex'])) { echo "mismatch\\n"; exit(1); }
  $opened++;
}
try { Kb1::open('kb1.AAAA', 'kb1$' . str_repeat('A', 43), 's', 'development', 'k'); } catch (KeybridgeException $e) { echo $e->problem_type(), ' '; }
$client = new Drupal\\keybridge\\Common\\Client('unix:/nonexistent.sock', '/nonexistent');
try { $client->status(); } catch (KeybridgeException $e) { echo $e->problem_type(), ' '; }
echo $opened > 0 ? 'opened' : 'none', "\\n";
`,
    );
    const out = execFileSync('php', [script, vectors], { encoding: 'utf8' });
    expect(out.trim()).toBe('ciphertext-invalid token-file-unreadable opened');
  });
});
