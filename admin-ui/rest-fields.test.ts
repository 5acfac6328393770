/**
 * Keybridge_Rest forwards only the request fields spec.yaml declares for an admin operation.
 * While the generated Keybridge_Spec carries no request shapes, the route keeps its own copy
 * (Keybridge_Rest::ADMIN_REQUESTS): this test keeps that copy equal to the spec.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const REST_FILE = fileURLToPath(new URL('../shims/templates/wordpress/includes/class-keybridge-rest.php', import.meta.url));
const SPEC_FILE = new URL('../shims/spec.yaml', import.meta.url);

interface RequestCopy {
  properties?: Record<string, string>;
  required?: string[];
}

function phpCopy(): Record<string, RequestCopy> {
  const script = `define('ABSPATH', '/'); require $argv[1]; echo json_encode(Keybridge_Rest::ADMIN_REQUESTS);`;
  return JSON.parse(execFileSync('php', ['-r', script, REST_FILE], { encoding: 'utf8' }));
}

function specShapes(): Record<string, { properties: Record<string, string>; required: string[] }> {
  const spec = parse(readFileSync(SPEC_FILE, 'utf8'));
  const shapes: Record<string, { properties: Record<string, string>; required: string[] }> = {};
  for (const id of spec.admin_operations as string[]) {
    const op = (spec.operations as { id: string; request?: { properties?: Record<string, { type: string }>; required?: string[] } }[]).find((o) => o.id === id);
    const properties: Record<string, string> = {};
    for (const [name, shape] of Object.entries(op?.request?.properties ?? {})) properties[name] = shape.type;
    shapes[id] = { properties, required: op?.request?.required ?? [] };
  }
  return shapes;
}

describe('Keybridge_Rest request fields', () => {
  it('has one entry per admin operation, equal to its request shape in spec.yaml', () => {
    const copy = phpCopy();
    const spec = specShapes();
    expect(Object.keys(copy).sort()).toEqual(Object.keys(spec).sort());
    for (const [id, shape] of Object.entries(spec)) {
      // PHP's json_encode turns an empty array into [], not {}.
      const properties = Array.isArray(copy[id].properties) ? {} : (copy[id].properties ?? {});
      expect({ id, properties, required: copy[id].required ?? [] }).toEqual({ id, ...shape });
    }
  });
});
