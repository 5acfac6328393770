/** Emits `Keybridge_Spec`: the spec's operations, status rows, problem types and forms as PHP constants. */
import { docBlock, generatedFileHeader } from './php-doc.ts';
import { phpLiteral, phpString, type PhpValue } from './php-literal.ts';
import { phpMethodName, type Spec } from './spec.ts';
import type { ShimTarget } from './target.ts';

/**
 * How an operation takes its request fields: none (a GET without query parameters, or an
 * empty object), query (a GET's optional URL query parameters), optional, or required (a body).
 */
export function bodyKind(op: Spec['operations'][number]): 'none' | 'query' | 'optional' | 'required' {
  if (op.method === 'GET') return op.query ? 'query' : 'none';
  if (!op.request) return 'none';
  const properties = Object.keys(op.request.properties ?? {});
  if (properties.length === 0) return 'none';
  return (op.request.required ?? []).length > 0 ? 'required' : 'optional';
}

/** The request's top-level fields or query parameters (name => array( 'type' => … )) and required names, for CMS-side checks. */
function requestShape(op: Spec['operations'][number]): PhpValue {
  const fields = op.query ?? op.request;
  const properties: Record<string, PhpValue> = {};
  for (const [name, shape] of Object.entries(fields?.properties ?? {})) properties[name] = { type: shape.type ?? null };
  return { properties, required: fields?.required ?? [] };
}

function constant(name: string, summary: string, value: PhpValue): string {
  return `${docBlock([summary], [], 1)}\n\tconst ${name} = ${phpLiteral(value, 1)};`;
}

export function emitSpecClass(spec: Spec, target: ShimTarget, version: string): string {
  const className = `${target.classPrefix}Spec`;
  const operations: Record<string, PhpValue> = {};
  for (const op of spec.operations) {
    operations[op.id] = {
      method: op.method,
      path: op.path,
      auth: op.auth,
      timeout_ms: op.timeoutMs ?? null,
      before_agent_proof: op.beforeAgentProof,
      body: bodyKind(op),
      php_method: phpMethodName(op.id),
      request: requestShape(op),
    };
  }
  const statusRows: Record<string, PhpValue> = {};
  for (const row of spec.statusRows) statusRows[row.id] = row.title;
  const statusActions: Record<string, PhpValue> = {};
  for (const { id, ...wording } of spec.statusActions) statusActions[id] = wording;
  const clientProblems: Record<string, PhpValue> = {};
  for (const item of spec.clientProblemTypes) clientProblems[item.type] = item.title;

  const constants = [
    constant('VERSION', 'The keybridge version this shim was built from.', version),
    constant('API_VERSION', 'The version of the agent API in spec.yaml.', spec.version),
    constant(
      'OPERATIONS',
      'Operation id => method, path, whether it needs the token, its timeout in ms (null: the client default), whether it may open a connection before the agent has proven it holds the token, whether it takes a body (none, query: URL query parameters, optional, required), the client method, the request top-level fields (name => JSON type) and required fields.',
      operations,
    ),
    constant(
      'AUTH',
      'How requests are authenticated without sending the token (spec.yaml `auth`, README "Security model"): the scheme of the Authorization header, the header of the agent\'s proof, the label that starts the MAC input, and how old or early a proof may be.',
      {
        scheme: spec.auth.scheme,
        proof_header: spec.auth.proofHeader,
        label: spec.auth.label,
        max_age_ms: spec.auth.maxAgeMs,
        max_ahead_ms: spec.auth.maxAheadMs,
      },
    ),
    constant('LIMITS', 'What the agent accepts (spec.yaml `limits`): name => positive integer.', spec.limits),
    constant('STATUS_ROWS', 'Status row id => title, in the order the agent returns them.', statusRows),
    constant(
      'STATUS_ACTIONS',
      "Status action id => how each surface says it: agent_cli, wp_cli, drush, page (a sentence) and form (the admin page's form id).",
      statusActions,
    ),
    constant('PROBLEM_TYPES', 'Problem types the agent answers with (application/problem+json `type`).', spec.problemTypes),
    constant('CLIENT_PROBLEM_TYPES', 'Problem types the PHP client raises itself => title.', clientProblems),
    constant(
      'ADMIN_OPERATIONS',
      'Operations an admin screen may call through the CMS; any other is refused before it reaches the agent.',
      spec.adminOperations,
    ),
    constant('FORMS', 'The forms of the admin screen (labels are translated by the CMS).', spec.forms as unknown as PhpValue),
  ];

  return [
    generatedFileHeader(`${className}: the agent's API as data (shims/spec.yaml).`, target.packageName),
    '',
    docBlock(['The agent API, status rows, problem types and admin forms, as the spec gives them.'], [], 0),
    `final class ${className} {`,
    '',
    constants.join('\n\n'),
    '',
    `\t/**`,
    `\t * Whether a problem type is one the agent or the client can raise.`,
    `\t *`,
    `\t * @param string $type A problem type, e.g. ${phpString(spec.problemTypes[0] ?? 'internal')}.`,
    `\t * @return bool True when the spec lists it.`,
    `\t */`,
    `\tpublic static function is_problem_type( string $type ): bool {`,
    `\t\treturn in_array( $type, self::PROBLEM_TYPES, true ) || isset( self::CLIENT_PROBLEM_TYPES[ $type ] );`,
    `\t}`,
    '}',
    '',
  ].join('\n');
}
