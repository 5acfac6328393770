/**
 * Emits `Keybridge_Client`: one public method per spec operation, on a small core (CLIENT_CORE)
 * that hands every call to Keybridge_Agent_Connection. The transport itself is hand-written
 * PHP in shims/templates/common/ (class-keybridge-agent-connection.php and
 * class-keybridge-http-exchange.php), where it can be linted and edited as PHP.
 */
import { bodyKind } from './emit-spec.ts';
import { docBlock, generatedFileHeader } from './php-doc.ts';
import { phpString } from './php-literal.ts';
import { phpMethodName, type Operation, type Spec } from './spec.ts';
import type { ShimTarget } from './target.ts';

/** The part of the client that is the same for every spec (String.raw: PHP's backslashes stay). */
const CLIENT_CORE = String.raw`	/**
	 * Connect timeout in ms: the agent is local, so a slow connect means it is not there.
	 */
	const DEFAULT_CONNECT_TIMEOUT_MS = Keybridge_Agent_Connection::DEFAULT_CONNECT_TIMEOUT_MS;

	/**
	 * Timeout in ms of a whole call whose operation gives none in the spec.
	 */
	const DEFAULT_TIMEOUT_MS = Keybridge_Agent_Connection::DEFAULT_TIMEOUT_MS;

	/**
	 * The connection every call goes through.
	 *
	 * @var Keybridge_Agent_Connection
	 */
	private $connection;

	/**
	 * A client for one agent.
	 *
	 * @param string $agent      unix:/absolute/path/agent.sock, or http://127.0.0.1:PORT
	 *                           (also http://localhost:PORT and http://[::1]:PORT).
	 * @param string $token_file Path of the agent's token file (0600, outside the webroot).
	 * @param array  $options    connect_timeout_ms (default 250), timeout_ms (default 3000), and
	 *                           persistent (default false): keep the connection open after the
	 *                           request, for the next request this PHP process serves (php-fpm),
	 *                           so a read with an empty cache costs no connect.
	 * @throws Keybridge_Exception Type not-configured when the address or the token file path is unusable.
	 */
	public function __construct( string $agent, string $token_file, array $options = array() ) {
		$this->connection = new Keybridge_Agent_Connection( $agent, $token_file, $options );
	}

	/**
	 * The agent address this client talks to.
	 *
	 * @return string The address as configured.
	 */
	public function agent(): string {
		return $this->connection->agent();
	}

	/**
	 * Calls one operation by its spec id (e.g. 'keys.set').
	 *
	 * @param string $operation_id An id from Keybridge_Spec::OPERATIONS.
	 * @param array  $body         The request fields (a GET's query parameters; ignored by operations without either).
	 * @return array The decoded JSON object the agent answered (a 202 "pending" too).
	 * @throws Keybridge_Exception On any failure; see Keybridge_Exception::problem_type().
	 */
	public function call( string $operation_id, array $body = array() ): array {
		if ( ! isset( Keybridge_Spec::OPERATIONS[ $operation_id ] ) ) {
			throw new Keybridge_Exception( 'not-found', 'No such keybridge operation: ' . $operation_id );
		}
		return $this->connection->call( Keybridge_Spec::OPERATIONS[ $operation_id ], $body );
	}`;

function requestFields(op: Operation): string {
  const fields = op.query ?? op.request;
  const required = new Set(fields?.required ?? []);
  return Object.keys(fields?.properties ?? {})
    .map((name) => (required.has(name) ? `${name} (required)` : name))
    .join(', ');
}

function timeoutText(op: Operation): string {
  return op.timeoutMs === undefined ? 'the short default timeout' : `a timeout of ${op.timeoutMs} ms`;
}

function operationMethod(op: Operation): string {
  const kind = bodyKind(op);
  const method = phpMethodName(op.id);
  const auth = op.auth ? '' : ' No token is sent.';
  const tags: string[] = [];
  let signature: string;
  let call: string;
  if (kind === 'none') {
    signature = `public function ${method}(): array`;
    call = `return $this->call( ${phpString(op.id)} );`;
  } else if (kind === 'query') {
    tags.push(`@param array $query Query parameters: ${requestFields(op)}.`);
    signature = `public function ${method}( array $query = array() ): array`;
    call = `return $this->call( ${phpString(op.id)}, $query );`;
  } else {
    const fields = `Request fields: ${requestFields(op)}.`;
    tags.push(`@param array $body ${fields}`);
    signature = `public function ${method}( array $body${kind === 'optional' ? ' = array()' : ''} ): array`;
    call = `return $this->call( ${phpString(op.id)}, $body );`;
  }
  tags.push('@return array The decoded JSON object the agent answered.');
  tags.push('@throws Keybridge_Exception On any failure; see Keybridge_Exception::problem_type().');
  const doc = docBlock([`Calls ${op.id}: ${op.summary}`, `${op.method} ${op.path}, with ${timeoutText(op)}.${auth}`], tags, 1);
  return `${doc}\n\t${signature} {\n\t\t${call}\n\t}`;
}

export function emitClientClass(spec: Spec, target: ShimTarget): string {
  const className = `${target.classPrefix}Client`;
  return [
    generatedFileHeader(`${className}: the keybridge agent's local API for PHP.`, target.packageName),
    '',
    docBlock(
      [
        'Calls the keybridge agent over its unix socket or loopback HTTP: one public method per operation in shims/spec.yaml, plus call() by operation id.',
        'One connection per client (Keybridge_Agent_Connection: a plain socket speaking HTTP/1.1), opened on the first call and kept for the next ones (keep-alive). The token never travels: each connection proves this client holds it and must be proven by the agent before anything secret is sent on it (Keybridge_Agent_Proof); it is read from its file on the first call that needs it and never appears in a message. Every failure is a Keybridge_Exception. Needs Keybridge_Spec, Keybridge_Exception, Keybridge_Agent_Connection, Keybridge_Agent_Proof and Keybridge_Http_Exchange loaded.',
      ],
      [],
      0,
    ),
    `class ${className} {`,
    '',
    CLIENT_CORE.replace(/\bKeybridge_/g, target.classPrefix),
    '',
    spec.operations.map(operationMethod).join('\n\n'),
    '}',
    '',
  ].join('\n');
}
