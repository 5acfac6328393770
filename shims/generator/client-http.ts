/**
 * Keybridge_Client's connection to the agent: one HTTP/1.1 request at a time on a plain
 * stream_socket_client() socket, kept open between calls. PHP source, emitted into the same
 * class as client-transport.ts (String.raw: PHP's backslashes stay as written).
 *
 * Why not curl: a fresh curl handle costs more than the whole round trip to a local agent
 * (DESIGN.md, "Performance budget": curl fresh over a unix socket ~155 µs, a raw socket
 * request ~90–110 µs), and every page request with an empty cache starts with a fresh one.
 * The agent is the only peer and always answers one JSON body with Content-Length
 * (@hono/node-server on node:http); chunked and read-until-close answers are understood too,
 * so any HTTP/1.x server in front of the socket works. One code path for unix sockets and
 * loopback TCP keeps both tested by the same suites.
 */
export const CLIENT_HTTP = String.raw`	/**
	 * Largest answer head (status line and headers) accepted, in bytes.
	 */
	const MAX_HEAD_BYTES = 16384;

	/**
	 * Largest answer body accepted, in bytes (the API's largest answers are far smaller).
	 */
	const MAX_BODY_BYTES = 16777216;

	/**
	 * The persistent connection a request was sent on and whose answer is not read yet.
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

	/**
	 * Sends one request and reads its answer, on the kept connection or a new one.
	 *
	 * A kept connection may have been closed by the agent since the last call (its idle
	 * timeout, a restart). When it turns out closed before a single byte of the answer was
	 * read, the agent never took the request, so it goes once more on a new connection. Once
	 * any byte was read the request is never sent again: it may have changed something.
	 *
	 * @param string $request    The whole request: head and body.
	 * @param int    $timeout_ms The call's timeout.
	 * @return array The HTTP status and the body.
	 * @throws Keybridge_Exception Types agent-unreachable and agent-response-invalid.
	 */
	private function exchange( string $request, int $timeout_ms ): array {
		// phpcs:disable WordPress.WP.AlternativeFunctions -- wp_remote_*() cannot reach a unix socket, and this class runs outside WordPress too.
		$deadline = microtime( true ) + $timeout_ms / 1000;
		if ( null !== $this->connection && ! is_resource( $this->connection ) ) {
			// A persistent socket is one per process: another client closed it meanwhile.
			$this->connection = null;
		}
		if ( null === $this->connection && $this->persistent ) {
			// Hands back the socket an earlier request of this process left open, if PHP finds
			// it alive; it is then checked below like any kept connection.
			$this->connect( $deadline, $timeout_ms );
		}
		if ( null !== $this->connection ) {
			// An idle kept connection has nothing to read: if it is readable, the agent closed
			// it (or sent something unasked). feof() would wait for the stream timeout instead.
			$readable = array( $this->connection );
			$none     = null;
			if ( 0 !== stream_select( $readable, $none, $none, 0 ) ) {
				$this->disconnect();
			}
		}
		$kept = null !== $this->connection;
		if ( ! $kept ) {
			$this->connect( $deadline, $timeout_ms );
		}
		self::$in_flight = $this->persistent ? $this->connection : null;
		$answer          = $this->round_trip( $request, $deadline, $timeout_ms );
		if ( null === $answer && $kept ) {
			$this->connect( $deadline, $timeout_ms );
			self::$in_flight = $this->persistent ? $this->connection : null;
			$answer          = $this->round_trip( $request, $deadline, $timeout_ms );
		}
		self::$in_flight = null;
		if ( null === $answer ) {
			throw $this->unreachable( 'the connection closed without an answer' );
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
		$this->connection = $stream;
		if ( $this->persistent && ! self::$guarded ) {
			// A request that dies in the middle of a call (a fatal error, max_execution_time)
			// must not leave a half-read answer on the socket for the next request to take as
			// its own: the socket is closed then. Shutdown functions run after fatal errors too.
			self::$guarded = true;
			register_shutdown_function( array( __CLASS__, 'close_if_in_flight' ) );
		}
	}

	/**
	 * Closes a persistent connection left in the middle of a call (runs at shutdown).
	 */
	public static function close_if_in_flight() {
		if ( is_resource( self::$in_flight ) ) {
			fclose( self::$in_flight );
		}
		self::$in_flight = null;
	}

	/**
	 * Closes the kept connection, if any.
	 */
	private function disconnect() {
		if ( null !== $this->connection ) {
			if ( is_resource( $this->connection ) ) {
				fclose( $this->connection );
			}
			$this->connection = null;
		}
	}

	/**
	 * Writes the request and reads the answer on the current connection.
	 *
	 * @param string $request    The whole request.
	 * @param float  $deadline   When the call's time is up (microtime).
	 * @param int    $timeout_ms The call's timeout, for the message.
	 * @return array|null The HTTP status and the body, or null when the connection closed
	 *                    before the first byte of the answer (it is closed here then).
	 * @throws Keybridge_Exception Types agent-unreachable and agent-response-invalid.
	 */
	private function round_trip( string $request, float $deadline, int $timeout_ms ) {
		$length = strlen( $request );
		for ( $sent = 0; $sent < $length; $sent += $written ) {
			$this->arm( $deadline, $timeout_ms );
			// phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged -- a closed peer (EPIPE) is handled below, not a PHP warning.
			$written = @fwrite( $this->connection, 0 === $sent ? $request : substr( $request, $sent ) );
			if ( false === $written || 0 === $written ) {
				$this->check_time( $timeout_ms );
				$this->disconnect();
				return null;
			}
		}
		$head = '';
		$end  = false;
		while ( false === $end ) {
			if ( strlen( $head ) > self::MAX_HEAD_BYTES ) {
				throw $this->invalid( 'an answer head over ' . self::MAX_HEAD_BYTES . ' bytes' );
			}
			$more = $this->read_some( 8192, $deadline, $timeout_ms );
			if ( '' === $more ) {
				$this->disconnect();
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
			$body = $this->read_chunked( $rest, $deadline, $timeout_ms );
		} elseif ( null !== $fields['length'] ) {
			$body = $this->read_length( $rest, $fields['length'], $deadline, $timeout_ms );
		} else {
			// No length given: the answer ends where the agent closes the connection.
			$body = $rest;
			$more = $this->read_some( 65536, $deadline, $timeout_ms );
			while ( '' !== $more ) {
				$body .= $more;
				$this->check_size( strlen( $body ) );
				$more = $this->read_some( 65536, $deadline, $timeout_ms );
			}
			$fields['close'] = true;
		}
		if ( $fields['close'] ) {
			$this->disconnect();
		}
		return array( $fields['status'], $body );
	}

	/**
	 * The status and framing of an answer head.
	 *
	 * @param string $head Status line and header lines, without the blank line.
	 * @return array status (int), length (int|null), chunked (bool), close (bool).
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
		);
		$count  = count( $lines );
		for ( $i = 1; $i < $count; $i++ ) {
			$colon = strpos( $lines[ $i ], ':' );
			if ( false === $colon ) {
				throw $this->invalid( 'a malformed header line' );
			}
			$name  = strtolower( substr( $lines[ $i ], 0, $colon ) );
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
	 * @param string $body       What was read with the head.
	 * @param int    $length     Content-Length.
	 * @param float  $deadline   When the call's time is up (microtime).
	 * @param int    $timeout_ms The call's timeout, for the message.
	 * @return string The body.
	 * @throws Keybridge_Exception Types agent-unreachable and agent-response-invalid.
	 */
	private function read_length( string $body, int $length, float $deadline, int $timeout_ms ): string {
		$have = strlen( $body );
		while ( $have < $length ) {
			$more = $this->read_some( min( 65536, $length - $have ), $deadline, $timeout_ms );
			if ( '' === $more ) {
				throw $this->invalid( 'the connection closed after ' . $have . ' of ' . $length . ' bytes' );
			}
			$body .= $more;
			$have += strlen( $more );
		}
		if ( $have > $length ) {
			// Bytes after the answer: this connection is out of step, do not reuse it.
			$this->disconnect();
			$body = substr( $body, 0, $length );
		}
		return $body;
	}

	/**
	 * A chunked body (RFC 9112 section 7.1; chunk extensions and trailers are skipped).
	 *
	 * @param string $data       What was read with the head.
	 * @param float  $deadline   When the call's time is up (microtime).
	 * @param int    $timeout_ms The call's timeout, for the message.
	 * @return string The body.
	 * @throws Keybridge_Exception Types agent-unreachable and agent-response-invalid.
	 */
	private function read_chunked( string $data, float $deadline, int $timeout_ms ): string {
		$body = '';
		while ( true ) {
			$eol = strpos( $data, "\r\n" );
			while ( false === $eol ) {
				$data .= $this->read_more( strlen( $body ), $deadline, $timeout_ms );
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
					$data .= $this->read_more( strlen( $body ), $deadline, $timeout_ms );
				}
				return $body;
			}
			$this->check_size( strlen( $body ) + $size );
			$have = strlen( $data );
			while ( $have < $size + 2 ) {
				$data .= $this->read_more( strlen( $body ), $deadline, $timeout_ms );
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
	 * More bytes of an answer that is not complete yet.
	 *
	 * @param int   $have       Bytes of the body so far, for the message.
	 * @param float $deadline   When the call's time is up (microtime).
	 * @param int   $timeout_ms The call's timeout, for the message.
	 * @return string At least one byte.
	 * @throws Keybridge_Exception Type agent-response-invalid when the connection closed.
	 */
	private function read_more( int $have, float $deadline, int $timeout_ms ): string {
		$more = $this->read_some( 65536, $deadline, $timeout_ms );
		if ( '' === $more ) {
			throw $this->invalid( 'the connection closed after ' . $have . ' bytes of a chunked answer' );
		}
		return $more;
	}

	/**
	 * Up to $max bytes, as soon as any arrive.
	 *
	 * @param int   $max        Most bytes to read.
	 * @param float $deadline   When the call's time is up (microtime).
	 * @param int   $timeout_ms The call's timeout, for the message.
	 * @return string The bytes; '' when the agent closed the connection.
	 * @throws Keybridge_Exception Type agent-unreachable when the time is up.
	 */
	private function read_some( int $max, float $deadline, int $timeout_ms ): string {
		$this->arm( $deadline, $timeout_ms );
		$bytes = fread( $this->connection, $max );
		if ( false === $bytes || '' === $bytes ) {
			$this->check_time( $timeout_ms );
			return '';
		}
		return $bytes;
	}

	/**
	 * Lets the next read or write on the connection wait only for the time the call has left.
	 *
	 * @param float $deadline   When the call's time is up (microtime).
	 * @param int   $timeout_ms The call's timeout, for the message.
	 * @throws Keybridge_Exception Type agent-unreachable when the time is up.
	 */
	private function arm( float $deadline, int $timeout_ms ) {
		$left = $deadline - microtime( true );
		if ( $left <= 0 ) {
			$this->disconnect();
			throw $this->unreachable( 'no answer within ' . $timeout_ms . ' ms' );
		}
		stream_set_timeout( $this->connection, (int) $left, (int) ( ( $left - (int) $left ) * 1000000 ) );
	}

	/**
	 * After a read or write that gave nothing: throws when it was the timeout.
	 *
	 * @param int $timeout_ms The call's timeout, for the message.
	 * @throws Keybridge_Exception Type agent-unreachable.
	 */
	private function check_time( int $timeout_ms ) {
		if ( stream_get_meta_data( $this->connection )['timed_out'] ) {
			// An answer arriving later would be taken for the next call's: drop the connection.
			$this->disconnect();
			throw $this->unreachable( 'no answer within ' . $timeout_ms . ' ms' );
		}
	}

	/**
	 * Refuses answers larger than any the API gives.
	 *
	 * @param int $bytes Body size so far or announced.
	 * @throws Keybridge_Exception Type agent-response-invalid.
	 */
	private function check_size( int $bytes ) {
		if ( $bytes > self::MAX_BODY_BYTES ) {
			$this->disconnect();
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
		return new Keybridge_Exception( 'agent-unreachable', self::title( 'agent-unreachable' ) . ' at ' . $this->agent . ': ' . $reason );
	}

	/**
	 * An agent-response-invalid exception; the connection is closed (it is out of step).
	 *
	 * @param string $what What was wrong.
	 * @return Keybridge_Exception The exception.
	 */
	private function invalid( string $what ): Keybridge_Exception {
		$this->disconnect();
		return new Keybridge_Exception( 'agent-response-invalid', self::title( 'agent-response-invalid' ) . ': ' . $what );
	}
	// phpcs:enable`;
