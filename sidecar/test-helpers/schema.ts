/**
 * Checks a value against the JSON Schema subset shims/spec.yaml uses (type, properties,
 * required, items, enum, additionalProperties, minItems, maxItems, pattern, $ref to a
 * named shape). Returns the list of violations, each with its JSON path.
 */
export type Shape = Record<string, any>;

export function validateShape(value: unknown, shape: Shape, shapes: Record<string, Shape>, path = '$'): string[] {
  if (shape.$ref) return validateShape(value, shapes[shape.$ref], shapes, path);
  const errors: string[] = [];
  const type = shape.type as string | undefined;
  const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : Number.isInteger(value) ? 'integer' : typeof value;
  if (type && !(type === actual || (type === 'number' && actual === 'integer'))) {
    return [`${path}: expected ${type}, got ${actual}`];
  }
  if (shape.enum && !shape.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(shape.enum)}`);
  if (shape.pattern && typeof value === 'string' && !new RegExp(shape.pattern).test(value)) {
    errors.push(`${path}: does not match ${shape.pattern}`);
  }
  if (type === 'object' && value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of shape.required ?? []) if (!(key in object)) errors.push(`${path}.${key}: required`);
    const properties = (shape.properties ?? {}) as Record<string, Shape>;
    for (const [key, child] of Object.entries(object)) {
      if (properties[key]) errors.push(...validateShape(child, properties[key], shapes, `${path}.${key}`));
      else if (shape.additionalProperties === false) errors.push(`${path}.${key}: not allowed`);
    }
  }
  if (type === 'array' && Array.isArray(value)) {
    if (shape.minItems !== undefined && value.length < shape.minItems) errors.push(`${path}: fewer than ${shape.minItems} items`);
    if (shape.maxItems !== undefined && value.length > shape.maxItems) errors.push(`${path}: more than ${shape.maxItems} items`);
    if (shape.items) value.forEach((item, index) => errors.push(...validateShape(item, shape.items, shapes, `${path}[${index}]`)));
  }
  return errors;
}
