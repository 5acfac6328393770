<?php
/**
 * Keybridge_Http_Exchange: one HTTP/1.1 request and its answer on an open socket.
 *
 * @package Keybridge
 */

/**
 * Writes one request on a socket Keybridge_Agent_Connection opened and reads the answer:
 * Content-Length, chunked, or until the agent closes; every read and write waits only for
 * the time the call has left.
 *
 * It never closes the socket: it tells the connection whether the socket can serve another
 * request. After any exception the socket is out of step and the connection closes it.
 */
final class Keybridge_Http_Exchange {

	/**
	 * Largest answer head (status line and headers) accepted, in bytes.
	 */
	const MAX_HEAD_BYTES = 16384;

	/**
	 * Largest answer body accepted, in bytes (the API's largest answers are far smaller).
	 */
	const MAX_BODY_BYTES = 16777216;

	/**
	 * The open socket to the agent.
	 *
	 * @var resource
	 */
	private $socket;

	/**
	 * The agent address as configured, for messages.
	 *
	 * @var string
	 */
	private $agent;

	/**
	 * When the call's time is up (microtime).
	 *
	 * @var float
	 */
	private $deadline;

	/**
	 * The call's timeout, for messages.
	 *
	 * @var int
	 */
	private $timeout_ms;

	/**
	 * Whether the socket can carry the next request once this answer is read.
	 *
	 * @var bool
	 */
	private $reusable = true;

	/**
	 * An exchange on one socket, within one call's time.
	 *
	 * @param resource $socket     The open socket.
	 * @param string   $agent      The agent address as configured, for messages.
	 * @param float    $deadline   When the call's time is up (microtime).
	 * @param int      $timeout_ms The call's timeout, for messages.
	 */
	public function __construct( $socket, string $agent, float $deadline, int $timeout_ms ) {
		$this->socket     = $socket;
		$this->agent      = $agent;
		$this->deadline   = $deadline;
		$this->timeout_ms = $timeout_ms;
	}

	// phpcs:disable WordPress.WP.AlternativeFunctions -- wp_remote_*() cannot reach a unix socket, and this class runs outside WordPress too.

	/**
	 * Writes the request and reads the answer.
	 *
	 * @param string $request The whole request: head and body.
	 * @return array|null status (int), body (string), reusable (bool: false when the agent
	 *                    closes the connection or sent more than the answer) and proof (the
	 *                    agent's proof header, or null); null when the connection closed
	 *                    before the first byte of the answer.
	 * @throws Keybridge_Exception Types agent-unreachable and agent-response-invalid.
	 */
	public function run( string $request ) {
		$length = strlen( $request );
		for ( $sent = 0; $sent < $length; $sent += $written ) {
			$this->arm();
			// phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged -- a closed peer (EPIPE) is handled below, not a PHP warning.
			$written = @fwrite( $this->socket, 0 === $sent ? $request : substr( $request, $sent ) );
			if ( false === $written || 0 === $written ) {
				$this->check_time();
				return null;
			}
		}
		$head = '';
		$end  = false;
		while ( false === $end ) {
			if ( strlen( $head ) > self::MAX_HEAD_BYTES ) {
				throw $this->invalid( 'an answer head over ' . self::MAX_HEAD_BYTES . ' bytes' );
			}
			$more = $this->read_some( 8192 );
			if ( '' === $more ) {
				if ( '' === $head ) {
					return null;
				}
				throw $this->invalid( 'the connection closed in the middle of the answer head' );
			}
			$head .= $more;
			$end   = strpos( $head, "\r\n\r\n" );
		}
		$fields = $this->parse_head( substr( $head, 0, $end ) );
		$rest   = (string) substr( $head, $end + 4 );
		if ( $fields['chunked'] ) {
			$body = $this->read_chunked( $rest );
		} elseif ( null !== $fields['length'] ) {
			$body = $this->read_length( $rest, $fields['length'] );
		} else {
			// No length given: the answer ends where the agent closes the connection.
			$body = $rest;
			$more = $this->read_some( 65536 );
			while ( '' !== $more ) {
				$body .= $more;
				$this->check_size( strlen( $body ) );
				$more = $this->read_some( 65536 );
			}
			$fields['close'] = true;
		}
		return array(
			'status'   => $fields['status'],
			'body'     => $body,
			'reusable' => $this->reusable && ! $fields['close'],
			'proof'    => $fields['proof'],
		);
	}

	/**
	 * The status and framing of an answer head.
	 *
	 * @param string $head Status line and header lines, without the blank line.
	 * @return array status (int), length (int|null), chunked (bool), close (bool), proof (string|null).
	 * @throws Keybridge_Exception Type agent-response-invalid.
	 */
	private function parse_head( string $head ): array {
		$lines = explode( "\r\n", $head );
		if ( 1 !== preg_match( '#^HTTP/1\.([01]) ([2-5][0-9][0-9])(?: |$)#', $lines[0], $match ) ) {
			throw $this->invalid( 'an answer that is not HTTP/1.x' );
		}
		$fields = array(
			'status'  => (int) $match[2],
			'length'  => null,
			'chunked' => false,
			// HTTP/1.0 closes after each answer unless told otherwise; 1.1 keeps the connection.
			'close'   => '0' === $match[1],
			'proof'   => null,
		);
		$proof  = strtolower( Keybridge_Spec::AUTH['proof_header'] );
		$count  = count( $lines );
		for ( $i = 1; $i < $count; $i++ ) {
			$colon = strpos( $lines[ $i ], ':' );
			if ( false === $colon ) {
				throw $this->invalid( 'a malformed header line' );
			}
			$name = strtolower( substr( $lines[ $i ], 0, $colon ) );
			if ( $proof === $name ) {
				// Case matters in a MAC; two of them is not an answer the agent gives.
				$fields['proof'] = null === $fields['proof'] ? trim( substr( $lines[ $i ], $colon + 1 ) ) : '';
				continue;
			}
			$value = strtolower( trim( substr( $lines[ $i ], $colon + 1 ) ) );
			if ( 'content-length' === $name ) {
				if ( 1 !== preg_match( '/^[0-9]{1,10}$/', $value ) || ( null !== $fields['length'] && (int) $value !== $fields['length'] ) ) {
					throw $this->invalid( 'a malformed Content-Length' );
				}
				$fields['length'] = (int) $value;
				$this->check_size( $fields['length'] );
			} elseif ( 'transfer-encoding' === $name ) {
				if ( 'chunked' !== $value ) {
					throw $this->invalid( 'a Transfer-Encoding other than chunked' );
				}
				$fields['chunked'] = true;
			} elseif ( 'connection' === $name ) {
				$fields['close'] = false !== strpos( $value, 'close' ) ? true : ( false !== strpos( $value, 'keep-alive' ) ? false : $fields['close'] );
			}
		}
		return $fields;
	}

	/**
	 * A body of a known length.
	 *
	 * @param string $body   What was read with the head.
	 * @param int    $length Content-Length.
	 * @return string The body.
	 * @throws Keybridge_Exception Types agent-unreachable and agent-response-invalid.
	 */
	private function read_length( string $body, int $length ): string {
		$have = strlen( $body );
		while ( $have < $length ) {
			$more = $this->read_some( min( 65536, $length - $have ) );
			if ( '' === $more ) {
				throw $this->invalid( 'the connection closed after ' . $have . ' of ' . $length . ' bytes' );
			}
			$body .= $more;
			$have += strlen( $more );
		}
		if ( $have > $length ) {
			// Bytes after the answer: this connection is out of step, do not reuse it.
			$this->reusable = false;
			$body           = substr( $body, 0, $length );
		}
		return $body;
	}

	/**
	 * A chunked body (RFC 9112 section 7.1; chunk extensions and trailers are skipped).
	 *
	 * @param string $data What was read with the head.
	 * @return string The body.
	 * @throws Keybridge_Exception Types agent-unreachable and agent-response-invalid.
	 */
	private function read_chunked( string $data ): string {
		$body = '';
		while ( true ) {
			$eol = strpos( $data, "\r\n" );
			while ( false === $eol ) {
				$data .= $this->read_more( strlen( $body ) );
				$eol   = strpos( $data, "\r\n" );
			}
			$size = strtolower( trim( explode( ';', substr( $data, 0, $eol ), 2 )[0] ) );
			if ( 1 !== preg_match( '/^[0-9a-f]{1,7}$/', $size ) ) {
				throw $this->invalid( 'a malformed chunk size' );
			}
			$size = (int) hexdec( $size );
			$data = (string) substr( $data, $eol + 2 );
			if ( 0 === $size ) {
				// Trailer lines, if any, end with an empty line.
				while ( 0 !== strpos( $data, "\r\n" ) && false === strpos( $data, "\r\n\r\n" ) ) {
					$data .= $this->read_more( strlen( $body ) );
				}
				return $body;
			}
			$this->check_size( strlen( $body ) + $size );
			$have = strlen( $data );
			while ( $have < $size + 2 ) {
				$data .= $this->read_more( strlen( $body ) );
				$have  = strlen( $data );
			}
			if ( "\r\n" !== substr( $data, $size, 2 ) ) {
				throw $this->invalid( 'a chunk without its line end' );
			}
			$body .= substr( $data, 0, $size );
			$data  = (string) substr( $data, $size + 2 );
		}
	}

	/**
	 * More bytes of a chunked answer that is not complete yet.
	 *
	 * @param int $have Bytes of the body so far, for the message.
	 * @return string At least one byte.
	 * @throws Keybridge_Exception Type agent-response-invalid when the connection closed.
	 */
	private function read_more( int $have ): string {
		$more = $this->read_some( 65536 );
		if ( '' === $more ) {
			throw $this->invalid( 'the connection closed after ' . $have . ' bytes of a chunked answer' );
		}
		return $more;
	}

	/**
	 * Up to $max bytes, as soon as any arrive.
	 *
	 * @param int $max Most bytes to read.
	 * @return string The bytes; '' when the agent closed the connection.
	 * @throws Keybridge_Exception Type agent-unreachable when the time is up.
	 */
	private function read_some( int $max ): string {
		$this->arm();
		$bytes = fread( $this->socket, $max );
		if ( false === $bytes || '' === $bytes ) {
			$this->check_time();
			return '';
		}
		return $bytes;
	}

	/**
	 * Lets the next read or write on the socket wait only for the time the call has left.
	 *
	 * @throws Keybridge_Exception Type agent-unreachable when the time is up.
	 */
	private function arm() {
		$left = $this->deadline - microtime( true );
		if ( $left <= 0 ) {
			throw $this->unreachable( 'no answer within ' . $this->timeout_ms . ' ms' );
		}
		stream_set_timeout( $this->socket, (int) $left, (int) ( ( $left - (int) $left ) * 1000000 ) );
	}

	/**
	 * After a read or write that gave nothing: throws when it was the timeout.
	 *
	 * @throws Keybridge_Exception Type agent-unreachable (an answer arriving later would be
	 *                             taken for the next call's: the connection closes the socket).
	 */
	private function check_time() {
		if ( stream_get_meta_data( $this->socket )['timed_out'] ) {
			throw $this->unreachable( 'no answer within ' . $this->timeout_ms . ' ms' );
		}
	}

	// phpcs:enable

	/**
	 * Refuses answers larger than any the API gives.
	 *
	 * @param int $bytes Body size so far or announced.
	 * @throws Keybridge_Exception Type agent-response-invalid.
	 */
	private function check_size( int $bytes ) {
		if ( $bytes > self::MAX_BODY_BYTES ) {
			throw $this->invalid( 'an answer over ' . self::MAX_BODY_BYTES . ' bytes' );
		}
	}

	/**
	 * An agent-unreachable exception naming the address.
	 *
	 * @param string $reason What happened.
	 * @return Keybridge_Exception The exception.
	 */
	private function unreachable( string $reason ): Keybridge_Exception {
		return new Keybridge_Exception( 'agent-unreachable', Keybridge_Spec::CLIENT_PROBLEM_TYPES['agent-unreachable'] . ' at ' . $this->agent . ': ' . $reason );
	}

	/**
	 * An agent-response-invalid exception.
	 *
	 * @param string $what What was wrong.
	 * @return Keybridge_Exception The exception.
	 */
	private function invalid( string $what ): Keybridge_Exception {
		return new Keybridge_Exception( 'agent-response-invalid', Keybridge_Spec::CLIENT_PROBLEM_TYPES['agent-response-invalid'] . ': ' . $what );
	}
}
