<?php
/**
 * Keybridge_Agent_Connection: the connection to the keybridge agent's local API.
 *
 * @package Keybridge
 */

/**
 * Sends spec operations to the keybridge agent over its unix socket or loopback HTTP and
 * turns the answers into arrays or Keybridge_Exception; Keybridge_Client is its generated,
 * one-method-per-operation face.
 *
 * One connection (a plain socket speaking HTTP/1.1, read by Keybridge_Http_Exchange),
 * opened on the first call and kept for the next ones (keep-alive); a kept connection the
 * agent closed meanwhile is replaced once, silently. With the option persistent the socket
 * also outlives the PHP request.
 *
 * The token never travels (Keybridge_Agent_Proof): the first request of a connection
 * carries this client's proof that it holds the token, and its answer must carry the
 * agent's proof back, or nothing of it is used and the connection is closed. An operation
 * that sends a value, a KEK, a password or a passphrase, or changes something (any not in
 * the spec's auth.before_agent_proof) goes only on a proven connection: on a new one a
 * GET /v1/health with the proof goes first. Page reads (keys.fetch: names only) pay no
 * extra round trip. The token is read from its file on the first call that needs it and
 * never appears in a message. Needs Keybridge_Spec, Keybridge_Exception,
 * Keybridge_Agent_Proof and Keybridge_Http_Exchange loaded.
 */
final class Keybridge_Agent_Connection {

	/**
	 * Connect timeout in ms: the agent is local, so a slow connect means it is not there.
	 */
	const DEFAULT_CONNECT_TIMEOUT_MS = 250;

	/**
	 * Timeout in ms of a whole call whose operation gives none in the spec.
	 */
	const DEFAULT_TIMEOUT_MS = 3000;

	/**
	 * The agent address as configured (shown in messages; it holds no secret).
	 *
	 * @var string
	 */
	private $agent;

	/**
	 * Where stream_socket_client() connects: unix:///path or tcp://127.0.0.1:PORT.
	 *
	 * @var string
	 */
	private $remote;

	/**
	 * The Host header of every request ('localhost' on a unix socket).
	 *
	 * @var string
	 */
	private $host;

	/**
	 * Whether the agent is on a unix socket (the proofs then name no address).
	 *
	 * @var bool
	 */
	private $unix;

	/**
	 * Path of the file holding the agent token.
	 *
	 * @var string
	 */
	private $token_file;

	/**
	 * Signs requests with the token, made on first use (the token is read then).
	 *
	 * @var Keybridge_Agent_Proof|null
	 */
	private $signer = null;

	/**
	 * Whether the agent has proven itself on the current socket.
	 *
	 * @var bool
	 */
	private $proven = false;

	/**
	 * Connect timeout in ms.
	 *
	 * @var int
	 */
	private $connect_timeout_ms;

	/**
	 * Whether the connection outlives the request (see the constructor).
	 *
	 * @var bool
	 */
	private $persistent;

	/**
	 * Default call timeout in ms.
	 *
	 * @var int
	 */
	private $timeout_ms;

	/**
	 * The socket to the agent, opened on the first call and kept for the next ones.
	 *
	 * @var resource|null
	 */
	private $socket = null;

	/**
	 * A connection to one agent (nothing is opened before the first call).
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
		$this->agent = $agent;
		if ( 1 === preg_match( '#^unix:(/[^\x00]+)$#', $agent, $match ) ) {
			$this->remote = 'unix://' . $match[1];
			$this->host   = 'localhost';
			$this->unix   = true;
		} elseif ( 1 === preg_match( '#^http://(127\.0\.0\.1|localhost|\[::1\]):([0-9]{1,5})/?$#', $agent, $match ) && (int) $match[2] >= 1 && (int) $match[2] <= 65535 ) {
			$this->remote = 'tcp://' . $match[1] . ':' . (int) $match[2];
			$this->host   = $match[1] . ':' . (int) $match[2];
			$this->unix   = false;
		} else {
			throw new Keybridge_Exception( 'not-configured', self::title( 'not-configured' ) . ': the agent address must be unix:/absolute/path or http://127.0.0.1:PORT, not "' . $agent . '"' );
		}
		if ( '' === $token_file ) {
			throw new Keybridge_Exception( 'not-configured', self::title( 'not-configured' ) . ': the token file path is empty' );
		}
		$this->token_file         = $token_file;
		$this->connect_timeout_ms = self::positive_int( $options, 'connect_timeout_ms', self::DEFAULT_CONNECT_TIMEOUT_MS );
		$this->timeout_ms         = self::positive_int( $options, 'timeout_ms', self::DEFAULT_TIMEOUT_MS );
		$this->persistent         = ! empty( $options['persistent'] );
	}

	/**
	 * The agent address this client talks to.
	 *
	 * @return string The address as configured.
	 */
	public function agent(): string {
		return $this->agent;
	}

	/**
	 * Sends one operation and reads its answer.
	 *
	 * @param array $operation An entry of Keybridge_Spec::OPERATIONS.
	 * @param array $body      The request fields, or a GET operation's query parameters (ignored by operations without either).
	 * @return array The decoded JSON object the agent answered (a 202 "pending" too).
	 * @throws Keybridge_Exception On any failure; see Keybridge_Exception::problem_type().
	 */
	public function call( array $operation, array $body = array() ): array {
		$content = 'POST' === $operation['method'] ? self::encode( 'none' === $operation['body'] ? array() : $body ) : '';
		// A GET's parameters (a listing's limit and cursor: never a secret) go in the request
		// line; the proof covers the path alone, as the agent checks it.
		$operation['target'] = $operation['path'];
		if ( 'query' === $operation['body'] && array() !== $body ) {
			$operation['target'] .= '?' . http_build_query( $body, '', '&', PHP_QUERY_RFC3986 );
		}
		if ( $operation['auth'] ) {
			$this->signer();
		}
		$timeout_ms = null === $operation['timeout_ms'] ? $this->timeout_ms : $operation['timeout_ms'];
		$answer     = $this->exchange( $operation, $content, $timeout_ms );
		return self::answer( $answer['status'], $answer['body'] );
	}

	/**
	 * One request's bytes.
	 *
	 * @param array       $operation     An entry of Keybridge_Spec::OPERATIONS ('target': the path with a query, when it has one).
	 * @param string      $content       The JSON body ('' for GET).
	 * @param string|null $authorization This client's proof, on the first request of a connection.
	 * @return string Head and body.
	 */
	private function request( array $operation, string $content, $authorization ): string {
		$target  = isset( $operation['target'] ) ? $operation['target'] : $operation['path'];
		$request = $operation['method'] . ' ' . $target . " HTTP/1.1\r\nHost: " . $this->host . "\r\nAccept: application/json\r\n";
		if ( null !== $authorization ) {
			$request .= 'Authorization: ' . $authorization . "\r\n";
		}
		if ( 'POST' === $operation['method'] ) {
			$request .= "Content-Type: application/json\r\nContent-Length: " . strlen( $content ) . "\r\n";
		}
		return $request . "\r\n" . $content;
	}

	/**
	 * Turns an HTTP answer into an array or an exception.
	 *
	 * @param int    $status The HTTP status.
	 * @param string $raw    The response body.
	 * @return array The decoded answer of a 2xx response.
	 * @throws Keybridge_Exception The agent's problem, or a client problem type.
	 */
	private static function answer( int $status, string $raw ): array {
		$decoded = self::decode( $raw );
		if ( $status >= 200 && $status < 300 ) {
			if ( null === $decoded ) {
				throw new Keybridge_Exception( 'agent-response-invalid', self::title( 'agent-response-invalid' ) . ': HTTP ' . $status . ' without a JSON object', $status );
			}
			return $decoded;
		}
		if ( null === $decoded || ! isset( $decoded['type'] ) || ! is_string( $decoded['type'] ) || 1 !== preg_match( '/^[a-z0-9-]+$/', $decoded['type'] ) ) {
			throw new Keybridge_Exception( 'agent-response-invalid', self::title( 'agent-response-invalid' ) . ': HTTP ' . $status . ' without a problem document', $status );
		}
		$message = isset( $decoded['title'] ) && is_string( $decoded['title'] ) ? $decoded['title'] : $decoded['type'];
		if ( isset( $decoded['detail'] ) && is_string( $decoded['detail'] ) && '' !== $decoded['detail'] ) {
			$message .= ': ' . $decoded['detail'];
		}
		$field = isset( $decoded['field'] ) && is_string( $decoded['field'] ) ? $decoded['field'] : '';
		throw new Keybridge_Exception( $decoded['type'], $message, $status, $field );
	}

	/**
	 * The signer, with the token read from its file once per client.
	 *
	 * @return Keybridge_Agent_Proof The signer.
	 * @throws Keybridge_Exception Type token-file-unreadable; the message names the file, never its content.
	 */
	private function signer(): Keybridge_Agent_Proof {
		if ( null === $this->signer ) {
			// One open and read, no stat first: a missing, unreadable or directory path reads as
			// false or '' and gets the message below instead of PHP's warning.
			// phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents, WordPress.PHP.NoSilencedErrors.Discouraged -- a local file; this class runs outside WordPress too.
			$contents = @file_get_contents( $this->token_file, false, null, 0, 4096 );
			$token    = false === $contents ? '' : trim( $contents );
			if ( '' === $token ) {
				throw new Keybridge_Exception( 'token-file-unreadable', self::title( 'token-file-unreadable' ) . ': ' . $this->token_file . ' is missing, unreadable or empty' );
			}
			if ( 1 !== preg_match( '/^[A-Za-z0-9_-]+$/', $token ) ) {
				throw new Keybridge_Exception( 'token-file-unreadable', self::title( 'token-file-unreadable' ) . ': ' . $this->token_file . ' does not hold a keybridge token' );
			}
			$this->signer = new Keybridge_Agent_Proof( $token );
		}
		return $this->signer;
	}

	/**
	 * JSON for a request body; bytes that are not UTF-8 must travel as value_base64.
	 *
	 * @param array $body The request fields.
	 * @return string JSON text ('{}' for an empty body).
	 * @throws Keybridge_Exception Type invalid-value when the body cannot be written as JSON.
	 */
	private static function encode( array $body ): string {
		if ( array() === $body ) {
			return '{}';
		}
		// phpcs:ignore WordPress.WP.AlternativeFunctions.json_encode_json_encode -- this class runs outside WordPress too.
		$json = json_encode( $body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE );
		if ( false === $json ) {
			throw new Keybridge_Exception( 'invalid-value', 'The request cannot be sent as JSON (' . json_last_error_msg() . '): pass bytes that are not UTF-8 as value_base64' );
		}
		return $json;
	}

	/**
	 * The answer as an array, or null when it is not a JSON object.
	 *
	 * @param string $raw The response body.
	 * @return array|null The decoded object.
	 */
	private static function decode( string $raw ) {
		if ( '{' !== substr( ltrim( $raw ), 0, 1 ) ) {
			return null;
		}
		$decoded = json_decode( $raw, true, 64, JSON_BIGINT_AS_STRING );
		return is_array( $decoded ) ? $decoded : null;
	}

	/**
	 * The spec's title of a client problem type.
	 *
	 * @param string $type A key of Keybridge_Spec::CLIENT_PROBLEM_TYPES.
	 * @return string Its title.
	 */
	private static function title( string $type ): string {
		return Keybridge_Spec::CLIENT_PROBLEM_TYPES[ $type ];
	}

	/**
	 * A positive integer option, or the default when it is absent.
	 *
	 * @param array  $options The constructor options.
	 * @param string $name    The option name.
	 * @param int    $fallback The default.
	 * @return int The value.
	 * @throws Keybridge_Exception Type not-configured when the option is given but not a positive integer.
	 */
	private static function positive_int( array $options, string $name, int $fallback ): int {
		if ( ! isset( $options[ $name ] ) ) {
			return $fallback;
		}
		if ( ! is_int( $options[ $name ] ) || $options[ $name ] < 1 ) {
			throw new Keybridge_Exception( 'not-configured', 'The client option ' . $name . ' must be a positive integer' );
		}
		return $options[ $name ];
	}

	/**
	 * The persistent socket a request was sent on and whose answer is not read yet.
	 *
	 * @var resource|null
	 */
	private static $in_flight = null;

	/**
	 * Whether close_if_in_flight() is registered in this process.
	 *
	 * @var bool
	 */
	private static $guarded = false;

	// phpcs:disable WordPress.WP.AlternativeFunctions -- wp_remote_*() cannot reach a unix socket, and this class runs outside WordPress too.

	/**
	 * Sends one request and reads its answer, on the kept connection or a new one.
	 *
	 * A kept connection may have been closed by the agent since the last call (its idle
	 * timeout, a restart). When it turns out closed before a single byte of the answer was
	 * read, the agent never took the request, so it goes once more on a new connection. Once
	 * any byte was read the request is never sent again: it may have changed something.
	 *
	 * @param array  $operation  An entry of Keybridge_Spec::OPERATIONS.
	 * @param string $content    The JSON body ('' for GET).
	 * @param int    $timeout_ms The call's timeout.
	 * @return array status (int) and body (string).
	 * @throws Keybridge_Exception Types agent-unreachable, agent-response-invalid, agent-unproven, unauthorized.
	 */
	private function exchange( array $operation, string $content, int $timeout_ms ): array {
		$deadline = microtime( true ) + $timeout_ms / 1000;
		if ( null !== $this->socket && ! is_resource( $this->socket ) ) {
			// A persistent socket is one per process: another client closed it meanwhile.
			$this->socket = null;
		}
		if ( null === $this->socket && $this->persistent ) {
			// Hands back the socket an earlier request of this process left open, if PHP finds
			// it alive; it is then checked below like any kept connection.
			$this->connect( $deadline, $timeout_ms );
		}
		if ( null !== $this->socket ) {
			// An idle kept connection has nothing to read: if it is readable, the agent closed
			// it (or sent something unasked). feof() would wait for the stream timeout instead.
			$readable = array( $this->socket );
			$none     = null;
			if ( 0 !== stream_select( $readable, $none, $none, 0 ) ) {
				$this->disconnect();
			}
		}
		$kept = null !== $this->socket;
		if ( ! $kept ) {
			$this->connect( $deadline, $timeout_ms );
		}
		$answer = $this->attempt( $operation, $content, $deadline, $timeout_ms );
		if ( null === $answer && $kept ) {
			$this->connect( $deadline, $timeout_ms );
			$answer = $this->attempt( $operation, $content, $deadline, $timeout_ms );
		}
		if ( null === $answer ) {
			throw $this->unreachable( 'the connection closed without an answer' );
		}
		return $answer;
	}

	/**
	 * One operation on the current socket: the handshake first when it must go on a proven
	 * connection and this one is not yet, then the request, signed unless the connection is
	 * proven.
	 *
	 * @param array  $operation  An entry of Keybridge_Spec::OPERATIONS.
	 * @param string $content    The JSON body ('' for GET).
	 * @param float  $deadline   When the call's time is up (microtime).
	 * @param int    $timeout_ms The call's timeout, for messages.
	 * @return array|null The answer, or null when the connection closed before the first byte
	 *                    of an answer (the agent took nothing: the caller may try a new one).
	 * @throws Keybridge_Exception Types agent-unreachable, agent-response-invalid, agent-unproven, unauthorized.
	 */
	private function attempt( array $operation, string $content, float $deadline, int $timeout_ms ) {
		if ( ! $operation['auth'] || $this->proven ) {
			return $this->round_trip( $this->request( $operation, $content, null ), $deadline, $timeout_ms );
		}
		if ( ! $operation['before_agent_proof'] ) {
			$hello = $this->signed_round_trip( Keybridge_Spec::OPERATIONS['health'], '', $deadline, $timeout_ms );
			if ( null === $hello || 200 !== $hello['status'] || null === $this->socket ) {
				// Closed before an answer, or after it: nothing secret was sent, so the caller
				// may try a new connection; an agent's refusal of health is the call's answer.
				return null === $hello || 200 !== $hello['status'] ? $hello : null;
			}
			return $this->round_trip( $this->request( $operation, $content, null ), $deadline, $timeout_ms );
		}
		return $this->signed_round_trip( $operation, $content, $deadline, $timeout_ms );
	}

	/**
	 * A request carrying this client's proof, whose answer must carry the agent's: then the
	 * connection is proven; otherwise it is closed and nothing of the answer is used.
	 *
	 * @param array  $operation  An entry of Keybridge_Spec::OPERATIONS.
	 * @param string $content    The JSON body ('' for GET).
	 * @param float  $deadline   When the call's time is up (microtime).
	 * @param int    $timeout_ms The call's timeout, for messages.
	 * @return array|null The answer, or null when the connection closed before its first byte.
	 * @throws Keybridge_Exception Types agent-unreachable, agent-response-invalid, agent-unproven, unauthorized.
	 */
	private function signed_round_trip( array $operation, string $content, float $deadline, int $timeout_ms ) {
		$signed = $this->signer()->sign( $operation['method'], $operation['path'], Keybridge_Agent_Proof::peer( $this->socket, $this->unix ) );
		$answer = $this->round_trip( $this->request( $operation, $content, $signed['authorization'] ), $deadline, $timeout_ms );
		if ( null === $answer ) {
			return null;
		}
		if ( ! Keybridge_Agent_Proof::matches( $signed['expected'], $answer['proof'] ) ) {
			$this->disconnect();
			// The answer is not the agent's to trust: the message says what this client knows, never what the peer said.
			if ( 401 === $answer['status'] ) {
				throw new Keybridge_Exception( 'unauthorized', 'The agent at ' . $this->agent . ' did not accept the proof made with ' . $this->token_file . ' (or another process holds that address)', 401 );
			}
			throw new Keybridge_Exception( 'agent-unproven', self::title( 'agent-unproven' ) . ': ' . $this->agent );
		}
		$this->proven = true;
		return $answer;
	}

	/**
	 * One request and its answer on the current socket, which is closed unless it can carry
	 * the next request.
	 *
	 * @param string $request    The whole request.
	 * @param float  $deadline   When the call's time is up (microtime).
	 * @param int    $timeout_ms The call's timeout, for messages.
	 * @return array|null status, body and proof, or null when the connection closed before
	 *                    the first byte of the answer.
	 * @throws Keybridge_Exception Types agent-unreachable and agent-response-invalid.
	 */
	private function round_trip( string $request, float $deadline, int $timeout_ms ) {
		self::$in_flight = $this->persistent ? $this->socket : null;
		try {
			$answer = ( new Keybridge_Http_Exchange( $this->socket, $this->agent, $deadline, $timeout_ms ) )->run( $request );
		} catch ( Keybridge_Exception $e ) {
			// The socket is out of step (or an answer may still arrive for this request).
			$this->disconnect();
			throw $e;
		} finally {
			self::$in_flight = null;
		}
		if ( null === $answer || ! $answer['reusable'] ) {
			$this->disconnect();
		}
		return $answer;
	}

	/**
	 * Opens a new connection to the agent.
	 *
	 * @param float $deadline   When the call's time is up (microtime).
	 * @param int   $timeout_ms The call's timeout, for the message.
	 * @throws Keybridge_Exception Type agent-unreachable.
	 */
	private function connect( float $deadline, int $timeout_ms ) {
		$this->disconnect();
		$seconds = min( $this->connect_timeout_ms / 1000, $deadline - microtime( true ) );
		if ( $seconds <= 0 ) {
			throw $this->unreachable( 'no answer within ' . $timeout_ms . ' ms' );
		}
		$errno  = 0;
		$errstr = '';
		$flags  = $this->persistent ? STREAM_CLIENT_CONNECT | STREAM_CLIENT_PERSISTENT : STREAM_CLIENT_CONNECT;
		// phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged -- the failure becomes the exception below, not a PHP warning.
		$stream = @stream_socket_client( $this->remote, $errno, $errstr, $seconds, $flags );
		if ( false === $stream ) {
			throw $this->unreachable( '' === $errstr ? 'cannot connect (error ' . $errno . ')' : $errstr );
		}
		$this->socket = $stream;
		$this->proven = false;
		if ( $this->persistent && ! self::$guarded ) {
			// A request that dies in the middle of a call (a fatal error, max_execution_time)
			// must not leave a half-read answer on the socket for the next request to take as
			// its own: the socket is closed then. Shutdown functions run after fatal errors too.
			self::$guarded = true;
			register_shutdown_function( array( __CLASS__, 'close_if_in_flight' ) );
		}
	}

	/**
	 * Closes a persistent socket left in the middle of a call (runs at shutdown).
	 */
	public static function close_if_in_flight() {
		if ( is_resource( self::$in_flight ) ) {
			fclose( self::$in_flight );
		}
		self::$in_flight = null;
	}

	/**
	 * Closes the kept socket, if any.
	 */
	private function disconnect() {
		$this->proven = false;
		if ( null !== $this->socket ) {
			if ( is_resource( $this->socket ) ) {
				fclose( $this->socket );
			}
			$this->socket = null;
		}
	}

	// phpcs:enable

	/**
	 * An agent-unreachable exception naming the address.
	 *
	 * @param string $reason What happened.
	 * @return Keybridge_Exception The exception.
	 */
	private function unreachable( string $reason ): Keybridge_Exception {
		return new Keybridge_Exception( 'agent-unreachable', self::title( 'agent-unreachable' ) . ' at ' . $this->agent . ': ' . $reason );
	}
}
