/**
 * Loads shims/spec.yaml and checks the parts the generator relies on, so a mistake in the
 * spec stops the build with a message naming the field (`operations[3].method: …`) instead
 * of turning into broken PHP. Response and request shapes are only checked for being
 * objects: their schema is the agent contract test's business.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export type HttpMethod = 'GET' | 'POST';

export interface Shape {
  type?: string;
  required?: string[];
  properties?: Record<string, Shape & { description?: string }>;
  [key: string]: unknown;
}

export interface Operation {
  id: string;
  method: HttpMethod;
  path: string;
  /** false only for health: every other call needs a client proven to hold the token. */
  auth: boolean;
  /** The clients' timeout for this call; undefined means the client's short default. */
  timeoutMs?: number;
  /** The largest request body the agent takes for this call (limits.body_bytes unless the spec says more). */
  maxBodyBytes: number;
  /** May open a connection before the agent has proven it holds the token (auth.before_agent_proof). */
  beforeAgentProof: boolean;
  summary: string;
  request?: Shape;
  /** A GET operation's URL query parameters (their names are the shape's properties). */
  query?: Shape;
}

export interface StatusRow {
  id: string;
  title: string;
}

/** What a status row asks the owner to do, worded per surface (spec.yaml `status_actions`). */
export interface StatusAction {
  id: string;
  /** `keybridge …` (the agent's CLI). */
  agent_cli: string;
  /** `wp keybridge …`. */
  wp_cli: string;
  /** `drush keybridge:…`. */
  drush: string;
  /** A sentence for the admin page. */
  page: string;
  /** The id of the admin page's form that does it. */
  form: string;
}

export interface ClientProblemType {
  type: string;
  title: string;
}

export interface FormField {
  name: string;
  label: string;
  type: string;
  [key: string]: unknown;
}

export interface Form {
  id: string;
  operation: string;
  title: string;
  submit: string;
  shown_when: 'always' | 'unregistered' | 'registered' | 'development';
  fields: FormField[];
  [key: string]: unknown;
}

/** spec.yaml `auth`: the labels and windows of the local API's proofs (the scheme is described there). */
export interface AuthSpec {
  scheme: string;
  proofHeader: string;
  /** The first line of the MAC's input. */
  label: string;
  maxAgeMs: number;
  maxAheadMs: number;
}

/** spec.yaml `limits`, by their YAML names (snake_case), all positive integers. */
export type Limits = Record<string, number>;

export interface Spec {
  version: number;
  basePath: string;
  auth: AuthSpec;
  limits: Limits;
  operations: Operation[];
  statusRows: StatusRow[];
  statusActions: StatusAction[];
  problemTypes: string[];
  clientProblemTypes: ClientProblemType[];
  adminOperations: string[];
  forms: Form[];
}

/** A mistake in spec.yaml; the message starts with the path of the bad field. */
export class SpecError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`spec.yaml: ${field}: ${problem}`);
    this.name = 'SpecError';
  }
}

export const SPEC_PATH = new URL('../spec.yaml', import.meta.url);

const OPERATION_ID = /^[a-z][a-z0-9]*(?:\.[a-z][a-z0-9]*)*$/;
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const SHOWN_WHEN = ['always', 'unregistered', 'registered', 'development'];

export function loadSpec(path: string | URL = SPEC_PATH): Spec {
  const text = readFileSync(path, 'utf8');
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new SpecError('(file)', `not valid YAML: ${(error as Error).message}`);
  }
  return checkSpec(raw);
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, field: string): Obj {
  if (!isObject(value)) throw new SpecError(field, value === undefined ? 'missing (expected a mapping)' : 'expected a mapping');
  return value;
}

function list(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new SpecError(field, value === undefined ? 'missing (expected a list)' : 'expected a list');
  return value;
}

function text(value: unknown, field: string, pattern?: RegExp): string {
  if (typeof value !== 'string' || value === '') {
    throw new SpecError(field, value === undefined ? 'missing (expected a string)' : 'expected a non-empty string');
  }
  if (pattern && !pattern.test(value)) throw new SpecError(field, `"${value}" does not match ${pattern}`);
  return value;
}

function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new SpecError(field, value === undefined ? 'missing (expected a positive integer)' : 'expected a positive integer');
  }
  return value;
}

function unique(values: string[], field: string, what: string): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (seen.has(value)) throw new SpecError(`${field}[${index}]`, `duplicate ${what} "${value}"`);
    seen.add(value);
  });
}

function checkLimits(raw: unknown): Limits {
  const limits: Limits = {};
  for (const [name, value] of Object.entries(object(raw, 'limits'))) {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new SpecError(`limits.${name}`, 'expected a snake_case name');
    limits[name] = positiveInteger(value, `limits.${name}`);
  }
  if (limits.body_bytes === undefined) throw new SpecError('limits.body_bytes', 'missing (expected a positive integer)');
  return limits;
}

function checkAuth(raw: unknown, operationIds: Set<string>): { auth: AuthSpec; beforeProof: Set<string> } {
  const auth = object(raw, 'auth');
  const label = /^[a-z0-9-]+$/;
  const beforeProof = list(auth.before_agent_proof, 'auth.before_agent_proof').map((id, index) => {
    const operation = text(id, `auth.before_agent_proof[${index}]`);
    if (!operationIds.has(operation)) throw new SpecError(`auth.before_agent_proof[${index}]`, `"${operation}" is not an operation id`);
    return operation;
  });
  return {
    auth: {
      scheme: text(auth.scheme, 'auth.scheme', /^[A-Za-z][A-Za-z0-9-]*$/),
      proofHeader: text(auth.proof_header, 'auth.proof_header', /^[A-Za-z][A-Za-z0-9-]*$/),
      label: text(auth.label, 'auth.label', label),
      maxAgeMs: positiveInteger(auth.max_age_ms, 'auth.max_age_ms'),
      maxAheadMs: positiveInteger(auth.max_ahead_ms, 'auth.max_ahead_ms'),
    },
    beforeProof: new Set(beforeProof),
  };
}

function checkOperation(raw: unknown, field: string, basePath: string, limits: Limits): Operation {
  const op = object(raw, field);
  const id = text(op.id, `${field}.id`, OPERATION_ID);
  const method = text(op.method, `${field}.method`);
  if (method !== 'GET' && method !== 'POST') throw new SpecError(`${field}.method`, `"${method}" is not GET or POST`);
  const path = text(op.path, `${field}.path`);
  if (!path.startsWith(`${basePath}/`)) throw new SpecError(`${field}.path`, `"${path}" is not under base_path ${basePath}`);
  if (op.auth !== undefined && typeof op.auth !== 'boolean') throw new SpecError(`${field}.auth`, 'expected true or false');
  const timeoutMs = op.timeout_ms === undefined ? undefined : positiveInteger(op.timeout_ms, `${field}.timeout_ms`);
  const maxBodyBytes = op.max_body_bytes === undefined ? limits.body_bytes : positiveInteger(op.max_body_bytes, `${field}.max_body_bytes`);
  const summary = text(op.summary, `${field}.summary`);
  object(op.response, `${field}.response`);
  let request: Shape | undefined;
  if (op.request !== undefined) {
    if (method === 'GET') throw new SpecError(`${field}.request`, 'a GET operation has no request body');
    request = object(op.request, `${field}.request`) as Shape;
    if (request.properties !== undefined) object(request.properties, `${field}.request.properties`);
    if (request.required !== undefined) {
      list(request.required, `${field}.request.required`).forEach((name, index) => {
        const required = text(name, `${field}.request.required[${index}]`);
        if (!request?.properties || !(required in request.properties)) {
          throw new SpecError(`${field}.request.required[${index}]`, `"${required}" is not among the request properties`);
        }
      });
    }
  }
  let query: Shape | undefined;
  if (op.query !== undefined) {
    if (method !== 'GET') throw new SpecError(`${field}.query`, 'only a GET operation takes query parameters');
    query = object(op.query, `${field}.query`) as Shape;
    object(query.properties, `${field}.query.properties`);
  }
  // beforeAgentProof is filled in by checkSpec from auth.before_agent_proof.
  return { id, method, path, auth: op.auth !== false, timeoutMs, maxBodyBytes, beforeAgentProof: false, summary, request, query };
}

function checkForm(raw: unknown, field: string, operationIds: Set<string>): Form {
  const form = object(raw, field);
  text(form.id, `${field}.id`, SLUG);
  const operation = text(form.operation, `${field}.operation`);
  if (!operationIds.has(operation)) throw new SpecError(`${field}.operation`, `"${operation}" is not an operation id`);
  text(form.title, `${field}.title`);
  text(form.submit, `${field}.submit`);
  const shownWhen = text(form.shown_when, `${field}.shown_when`);
  if (!SHOWN_WHEN.includes(shownWhen)) throw new SpecError(`${field}.shown_when`, `"${shownWhen}" is not one of ${SHOWN_WHEN.join(', ')}`);
  list(form.fields, `${field}.fields`).forEach((rawField, index) => {
    const item = object(rawField, `${field}.fields[${index}]`);
    text(item.name, `${field}.fields[${index}].name`);
    text(item.label, `${field}.fields[${index}].label`);
    text(item.type, `${field}.fields[${index}].type`);
  });
  return form as unknown as Form;
}

/** Checks a parsed spec; throws SpecError naming the first bad field. */
export function checkSpec(raw: unknown): Spec {
  const root = object(raw, '(root)');
  const version = positiveInteger(root.version, 'version');
  const basePath = text(root.base_path, 'base_path', /^\/[a-z0-9]+$/);

  const limits = checkLimits(root.limits);
  const operations = list(root.operations, 'operations').map((op, index) => checkOperation(op, `operations[${index}]`, basePath, limits));
  if (operations.length === 0) throw new SpecError('operations', 'the list is empty');
  unique(
    operations.map((op) => op.id),
    'operations',
    'operation id',
  );
  unique(
    operations.map((op) => `${op.method} ${op.path}`),
    'operations',
    'method and path',
  );
  unique(
    operations.map((op) => phpMethodName(op.id)),
    'operations',
    'PHP method name',
  );
  const operationIds = new Set(operations.map((op) => op.id));
  const { auth, beforeProof } = checkAuth(root.auth, operationIds);
  for (const op of operations) op.beforeAgentProof = beforeProof.has(op.id);

  const statusRows = list(root.status_rows, 'status_rows').map((rawRow, index) => {
    const row = object(rawRow, `status_rows[${index}]`);
    return { id: text(row.id, `status_rows[${index}].id`, SLUG), title: text(row.title, `status_rows[${index}].title`) };
  });
  unique(
    statusRows.map((row) => row.id),
    'status_rows',
    'row id',
  );

  const statusActions = list(root.status_actions, 'status_actions').map((rawAction, index) => {
    const field = `status_actions[${index}]`;
    const action = object(rawAction, field);
    return {
      id: text(action.id, `${field}.id`, SLUG),
      agent_cli: text(action.agent_cli, `${field}.agent_cli`, /^keybridge /),
      wp_cli: text(action.wp_cli, `${field}.wp_cli`, /^wp keybridge /),
      drush: text(action.drush, `${field}.drush`, /^drush keybridge:/),
      page: text(action.page, `${field}.page`),
      form: text(action.form, `${field}.form`, SLUG),
    };
  });
  unique(
    statusActions.map((action) => action.id),
    'status_actions',
    'action id',
  );

  const problemTypes = list(root.problem_types, 'problem_types').map((type, index) => text(type, `problem_types[${index}]`, SLUG));
  unique(problemTypes, 'problem_types', 'problem type');

  const clientProblemTypes = list(root.client_problem_types, 'client_problem_types').map((rawType, index) => {
    const item = object(rawType, `client_problem_types[${index}]`);
    return {
      type: text(item.type, `client_problem_types[${index}].type`, SLUG),
      title: text(item.title, `client_problem_types[${index}].title`),
    };
  });
  unique([...problemTypes, ...clientProblemTypes.map((item) => item.type)], 'client_problem_types', 'problem type (also in problem_types)');

  const adminOperations = list(root.admin_operations, 'admin_operations').map((id, index) => {
    const operation = text(id, `admin_operations[${index}]`);
    if (!operationIds.has(operation)) throw new SpecError(`admin_operations[${index}]`, `"${operation}" is not an operation id`);
    return operation;
  });
  unique(adminOperations, 'admin_operations', 'operation id');

  const forms = list(root.forms, 'forms').map((form, index) => checkForm(form, `forms[${index}]`, operationIds));
  unique(
    forms.map((form) => form.id),
    'forms',
    'form id',
  );

  const formIds = new Set(forms.map((form) => form.id));
  statusActions.forEach((action, index) => {
    if (!formIds.has(action.form)) throw new SpecError(`status_actions[${index}].form`, `"${action.form}" is not a form id`);
  });

  return {
    version,
    basePath,
    auth,
    limits,
    operations,
    statusRows,
    statusActions,
    problemTypes,
    clientProblemTypes,
    adminOperations,
    forms,
  };
}

/** `keys.set` → `keys_set`: the PHP method (and WordPress-style function) name of an operation. */
export function phpMethodName(operationId: string): string {
  return operationId.replace(/\./g, '_');
}
