import { readFileSync } from 'node:fs';
import { CliError } from './errors.ts';

/** Reads a file the user named, with an error that names the option. */
export function readInputFile(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliError(`--${option}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** A one-line secret file (wrapping key, passphrase): trailing newline removed. */
export function readSecretLine(path: string, option: string): string {
  return readInputFile(path, option)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function readJsonFile(path: string, option: string): unknown {
  const text = readInputFile(path, option).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`--${option}: ${path} is not valid JSON`);
  }
}

/** `{ "name": "kb1$…" }`, as `keys set` prints them and the CMS keeps them. */
export function readWrappingKeys(path: string, option: string): Record<string, string> {
  const parsed = readJsonFile(path, option);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`--${option}: ${path} must hold a JSON object {"name": "kb1$…"}`);
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') throw new CliError(`--${option}: the wrapping key of ${JSON.stringify(name)} must be a string`);
  }
  return parsed as Record<string, string>;
}
