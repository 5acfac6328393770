import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The options every command that talks to the agent accepts. */
export const AGENT_OPTIONS = {
  agent: { type: 'string' },
  'token-file': { type: 'string' },
  home: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies Options;

/** node:util parseArgs, with its errors turned into usage errors (exit 2). */
export function parse<T extends Options>(argv: string[], options: T, positionals: { min: number; max: number }) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min || count > positionals.max) {
    throw new UsageError(
      positionals.min === positionals.max
        ? `expected ${positionals.min} argument(s), got ${count}`
        : `expected ${positionals.min} to ${positionals.max} arguments, got ${count}`,
    );
  }
  return parsed;
}

export function requireOption(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}
