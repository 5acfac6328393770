/**
 * Turns the CMS-neutral PHP (templates/common/ and the generated client and spec, written once
 * as global `Keybridge_*` classes, the WordPress way) into PSR-4 classes of one namespace, the
 * Drupal way. The hand-written files stay the single source: edits to them reach both CMSs,
 * and nothing here knows what the classes do.
 *
 * A token-level rewrite, not a text search: a small PHP lexer tells code, comments and string
 * literals apart, and then
 * - `Keybridge_Agent_Connection` becomes `AgentConnection` in code and comments (a name that
 *   would read as PHP's own class, `Exception`, becomes `KeybridgeException`);
 * - every other class the code names (`RuntimeException`, `Normalizer`, …: CamelCase is a class
 *   in WordPress-style code, where functions, methods and variables are snake_case and
 *   constants upper case) gets a `use` line, since a namespace would otherwise capture it;
 * - `namespace …;` and the `use` lines go after the file's docblock.
 * It refuses what it cannot rewrite safely, naming the file: a shared class named inside a
 * string (use `::class`), a `Keybridge_*` class that is not shared (the library must not
 * depend on one CMS's glue), heredoc, or a file that declares no or several classes.
 */

/** One PHP file of the shared library, as the WordPress shim gets it. */
export interface SharedPhpFile {
  content: string;
  /** Where it came from, for messages (repo-relative). */
  source: string;
}

/** The same file as a PSR-4 class. */
export interface NamespacedPhpFile {
  /** The short class name, which is also the file name without `.php`. */
  className: string;
  content: string;
  source: string;
}

/** Prefix of the shared classes in their WordPress form. */
export const SHARED_PREFIX = 'Keybridge_';

/** Short names that would read as PHP's own classes inside the namespace. */
const RESERVED_SHORT_NAMES = new Set(['Exception', 'Error', 'Closure', 'Iterator', 'Generator']);

/** `Keybridge_Agent_Connection` → `AgentConnection`; `Keybridge_Exception` → `KeybridgeException`. */
export function psr4ClassName(prefixed: string): string {
  if (!prefixed.startsWith(SHARED_PREFIX)) throw new Error(`${prefixed} is not a ${SHARED_PREFIX}* class`);
  const short = prefixed.slice(SHARED_PREFIX.length).split('_').join('');
  return RESERVED_SHORT_NAMES.has(short) ? `Keybridge${short}` : short;
}

type TokenKind = 'code' | 'comment' | 'string';
interface Token {
  kind: TokenKind;
  text: string;
}

/** Splits PHP source into code, comments and string literals (enough for the rewrite). */
export function lexPhp(source: string, origin: string): Token[] {
  const tokens: Token[] = [];
  let code = '';
  let i = 0;
  const flushCode = () => {
    if (code !== '') tokens.push({ kind: 'code', text: code });
    code = '';
  };
  const until = (end: string, from: number): number => {
    const at = source.indexOf(end, from);
    return at < 0 ? source.length : at + end.length;
  };
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && next === '*') {
      flushCode();
      const end = until('*/', i + 2);
      tokens.push({ kind: 'comment', text: source.slice(i, end) });
      i = end;
    } else if ((c === '/' && next === '/') || (c === '#' && next !== '[')) {
      flushCode();
      let end = source.indexOf('\n', i);
      end = end < 0 ? source.length : end;
      tokens.push({ kind: 'comment', text: source.slice(i, end) });
      i = end;
    } else if (c === "'" || c === '"') {
      flushCode();
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      tokens.push({ kind: 'string', text: source.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '<' && source.startsWith('<<<', i)) {
      throw new Error(`${origin}: heredoc and nowdoc are not supported in shared PHP (the namespacing rewrite cannot read them)`);
    } else {
      code += c;
      i += 1;
    }
  }
  flushCode();
  return tokens;
}

const IDENTIFIER = /[A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*/g;
const SHARED_NAME = /\bKeybridge_[A-Za-z0-9_]+/g;
/** A class in WordPress-style code: CamelCase with at least one lower-case letter, no underscore. */
const CLASS_LIKE = /^[A-Z][A-Za-z0-9]*$/;
/** Docblock tags whose first word is a type. */
const TYPE_TAG = /@(?:param|return|throws|var)\s+([^\s]+)/g;

/** Global classes named in a stretch of code (not after `->`, `::`, `\`, `function` or `const`). */
function globalClassesInCode(code: string, into: Set<string>): void {
  for (const match of code.matchAll(IDENTIFIER)) {
    const name = match[0];
    if (!CLASS_LIKE.test(name) || !/[a-z]/.test(name)) continue;
    const before = code.slice(0, match.index).trimEnd();
    if (/(->|::|\\)$/.test(before) || /\b(function|const)$/.test(before)) continue;
    into.add(name);
  }
}

/** Global classes named as types in a docblock. */
function globalClassesInDoc(comment: string, into: Set<string>): void {
  for (const match of comment.matchAll(TYPE_TAG)) {
    for (const part of match[1].split('|')) {
      const name = part.replace(/^\?/, '').replace(/(\[\])+$/, '');
      if (CLASS_LIKE.test(name) && /[a-z]/.test(name)) into.add(name);
    }
  }
}

/** The one class a shared file declares, in its WordPress form. */
function declaredClass(tokens: Token[], origin: string): string {
  const code = tokens
    .filter((token) => token.kind === 'code')
    .map((token) => token.text)
    .join(' ');
  const declared = [...code.matchAll(/^\s*(?:(?:final|abstract)\s+)?(?:class|interface|trait)\s+([A-Za-z0-9_]+)/gm)].map(
    (match) => match[1],
  );
  if (declared.length !== 1 || !declared[0].startsWith(SHARED_PREFIX)) {
    throw new Error(
      `${origin}: a shared PHP file must declare exactly one ${SHARED_PREFIX}* class (found: ${declared.join(', ') || 'none'})`,
    );
  }
  return declared[0];
}

/** Rewrites every file; `namespace` is e.g. `Drupal\keybridge\Common`. */
export function namespaceSharedPhp(files: SharedPhpFile[], namespace: string): NamespacedPhpFile[] {
  const lexed = files.map((file) => ({ file, tokens: lexPhp(file.content, file.source) }));
  const shared = new Map<string, string>();
  for (const { file, tokens } of lexed) {
    const prefixed = declaredClass(tokens, file.source);
    shared.set(prefixed, psr4ClassName(prefixed));
  }
  const shortNames = new Set(shared.values());

  return lexed.map(({ file, tokens }) => {
    const imports = new Set<string>();
    const rewritten = tokens.map((token) => {
      if (token.kind === 'string') {
        const named = token.text.match(SHARED_NAME)?.find((name) => shared.has(name));
        if (named)
          throw new Error(`${file.source}: ${named} is named inside a string; refer to it as ${named}::class so it can be namespaced`);
        return token.text;
      }
      const text = token.text.replace(SHARED_NAME, (name, offset: number, whole: string) => {
        // A property, method, constant or variable that only looks like a class stays.
        if (token.kind === 'code' && /(->|::|\$|\\)\s*$/.test(whole.slice(Math.max(0, offset - 4), offset))) return name;
        const short = shared.get(name);
        if (short !== undefined) return short;
        if (token.kind === 'code')
          throw new Error(`${file.source}: ${name} is not a shared class: the shared PHP must not use one CMS's glue`);
        return name;
      });
      if (token.kind === 'code') globalClassesInCode(text, imports);
      else if (token.text.startsWith('/**')) globalClassesInDoc(text, imports);
      return text;
    });
    for (const name of shortNames) imports.delete(name);

    const body = rewritten.join('');
    const className = shared.get(declaredClass(tokens, file.source)) as string;
    const header = [
      `namespace ${namespace};`,
      ...(imports.size > 0 ? ['', ...[...imports].sort().map((name) => `use ${name};`)] : []),
    ].join('\n');
    return { className, content: insertAfterFileDoc(body, header, file.source), source: file.source };
  });
}

/** Puts `header` after the opening tag's file docblock (or right after `<?php`). */
function insertAfterFileDoc(body: string, header: string, origin: string): string {
  const open = /^<\?php\s*\n/.exec(body);
  if (!open) throw new Error(`${origin}: a shared PHP file must start with <?php`);
  let at = open[0].length;
  const doc = /^\/\*\*[\s\S]*?\*\/\n/.exec(body.slice(at));
  // A file docblock is one followed by a blank line (the class's own docblock is not).
  if (doc && body.slice(at + doc[0].length).startsWith('\n')) at += doc[0].length;
  const rest = body.slice(at);
  return `${body.slice(0, at)}\n${header}\n${rest.startsWith('\n') ? '' : '\n'}${rest}`;
}
