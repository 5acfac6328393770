/**
 * Emits sidecar/src/protocol/local-api.ts: the spec's operations, auth labels and limits as
 * TypeScript constants, so the agent and the CLI read the same numbers the PHP reads from
 * Keybridge_Spec and nobody copies a limit by hand. The file is committed (the agent runs
 * without the generator); generator.test.ts fails while it differs from what this emits.
 */
import type { Spec } from './spec.ts';

export const LOCAL_API_MODULE = 'sidecar/src/protocol/local-api.ts';

/** `fetch_names` → `fetchNames`. */
function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

function literal(value: unknown): string {
  return JSON.stringify(value).replace(/"/g, "'");
}

/** An object key as Prettier writes it: quoted only when it must be. */
function key(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : literal(name);
}

function objectLines(entries: [string, unknown][], indent: string): string {
  return entries.map(([name, value]) => `${indent}${key(name)}: ${literal(value)},`).join('\n');
}

export function emitLocalApiModule(spec: Spec): string {
  const operations = spec.operations
    .map((op) => {
      const fields: [string, unknown][] = [
        ['method', op.method],
        ['path', op.path],
        ['auth', op.auth],
        ['beforeAgentProof', op.beforeAgentProof],
        ['maxBodyBytes', op.maxBodyBytes],
      ];
      if (op.timeoutMs !== undefined) fields.push(['timeoutMs', op.timeoutMs]);
      return `  ${key(op.id)}: {\n${objectLines(fields, '    ')}\n  },`;
    })
    .join('\n');
  const auth = Object.entries(spec.auth) as [string, unknown][];
  const limits = Object.entries(spec.limits).map(([name, value]) => [camel(name), value] as [string, unknown]);
  return [
    '// GENERATED from shims/spec.yaml by shims/generator/emit-ts.ts: do not edit. After a change to the',
    '// spec: UPDATE_GOLDEN=1 npx vitest run shims/generator/generator.test.ts (it fails while this is stale).',
    '',
    '/** How requests are authenticated without sending the token (spec.yaml `auth`). */',
    'export const LOCAL_API_AUTH = {',
    objectLines(auth, '  '),
    '} as const;',
    '',
    '/** What the agent accepts (spec.yaml `limits`). */',
    'export const LIMITS = {',
    objectLines(limits, '  '),
    '} as const;',
    '',
    'export interface LocalOperation {',
    "  method: 'GET' | 'POST';",
    '  path: string;',
    '  /** false only for health: every other call needs a proven client. */',
    '  auth: boolean;',
    '  /** May open a connection before the agent has proven it holds the token. */',
    '  beforeAgentProof: boolean;',
    '  maxBodyBytes: number;',
    "  /** The clients' timeout for this call, when it is not the short default. */",
    '  timeoutMs?: number;',
    '}',
    '',
    '/** Every operation of the local API, by its spec id. */',
    'export const LOCAL_OPERATIONS = {',
    operations,
    '} as const satisfies Record<string, LocalOperation>;',
    '',
    'export type LocalOperationId = keyof typeof LOCAL_OPERATIONS;',
    '',
  ].join('\n');
}
