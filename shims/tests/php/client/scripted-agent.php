<?php
/**
 * A unix-socket HTTP/1.1 server that misbehaves on purpose, for ClientConnectionTest and
 * ClientFailureTest:
 *
 *   php scripted-agent.php SOCKET MODE LOG TOKEN_FILE
 *
 * Serves connections one after another (the client under test makes one call at a time) and
 * appends "<connection> <request line>" to LOG for every request it reads. It holds the
 * agent token: an answer to a request that carries the client's proof carries the agent's
 * proof (written here from the spec's description, not with the client's own code), unless
 * the mode says otherwise. Modes:
 *
 *   close-after-each  answers every request, then closes the connection without saying so
 *   drop-second       answers the first request of a connection, reads the second and closes
 *                     without a byte of answer
 *   cut-body          announces 100 bytes, sends 10, closes
 *   cut-head-second   answers the first request of a connection; the second gets half a head
 *   large             a 64 KiB JSON answer with Content-Length, written in 4 KiB pieces
 *   chunked           a JSON answer in chunks (with a chunk extension and a trailer)
 *   until-close       an HTTP/1.0 answer without Content-Length, ended by closing
 *   keep              answers every request and keeps the connection (a well-behaved agent)
 *   no-proof          like keep, but never proves itself (an impostor without the token)
 *   wrong-proof       like keep, with a proof made with another token
 *   refuse            answers 401 unauthorized without a proof (an agent with another token)
 *   router            answers by path like a broken agent (ClientFailureTest): health HTML,
 *                     status a JSON list, keys a 500 with HTML, keys/set a problem document,
 *                     production 202 pending, keys/get echoes the request (body, headers),
 *                     keys/fetch never answers (its connection is held open, the next accepted)
 *
 * @package Keybridge
 */

list( , $keybridge_socket, $keybridge_mode, $keybridge_log, $keybridge_token_file ) = $argv;
$keybridge_token = trim( (string) file_get_contents( $keybridge_token_file ) );
@unlink( $keybridge_socket );
$keybridge_server = stream_socket_server( 'unix://' . $keybridge_socket, $errno, $errstr );
if ( false === $keybridge_server ) {
	fwrite( STDERR, "scripted-agent: $errstr\n" );
	exit( 1 );
}

/**
 * Reads one request (head and Content-Length body).
 *
 * @param resource $conn The connection.
 * @return array|null line, head (the header lines, lower-case names => value) and body; null
 *                    when the client closed the connection.
 */
function keybridge_scripted_read_request( $conn ) {
	$data = '';
	while ( false === strpos( $data, "\r\n\r\n" ) ) {
		$more = fread( $conn, 8192 );
		if ( false === $more || '' === $more ) {
			return null;
		}
		$data .= $more;
	}
	list( $head, $body ) = explode( "\r\n\r\n", $data, 2 );
	$length = preg_match( '/\r\ncontent-length: *([0-9]+)/i', $head, $m ) ? (int) $m[1] : 0;
	while ( strlen( $body ) < $length ) {
		$more = fread( $conn, 8192 );
		if ( false === $more || '' === $more ) {
			return null;
		}
		$body .= $more;
	}
	$headers = array();
	foreach ( array_slice( explode( "\r\n", $head ), 1 ) as $header ) {
		$colon                                         = strpos( $header, ':' );
		$headers[ strtolower( substr( $header, 0, $colon ) ) ] = trim( substr( $header, $colon + 1 ) );
	}
	return array(
		'line'    => strtok( $head, "\r\n" ),
		'headers' => $headers,
		'body'    => $body,
	);
}

/**
 * The agent's proof for a request that carried the client's, as spec.yaml `auth` describes
 * it: the last 16 bytes of HMAC-SHA256 keyed by the token over "keybridge-proof-1", t, n,
 * the request line's method and path and the client's address ("unix" here), base64url; ''
 * when the request carried none.
 *
 * @param array  $request The request (keybridge_scripted_read_request()).
 * @param string $token   The token the MAC is keyed with.
 * @return string The header line to add, or ''.
 */
function keybridge_scripted_proof( array $request, string $token ): string {
	$authorization = isset( $request['headers']['authorization'] ) ? $request['headers']['authorization'] : '';
	if ( 1 !== preg_match( '/^Keybridge t=([0-9]+), n=([A-Za-z0-9_-]+), m=/', $authorization, $m ) ) {
		return '';
	}
	list( $method, $path ) = explode( ' ', $request['line'] );
	$mac                   = hash_hmac( 'sha256', "keybridge-proof-1\n" . $m[1] . "\n" . $m[2] . "\n" . $method . ' ' . $path . "\nunix", $token, true );
	return 'Keybridge-Proof: ' . rtrim( strtr( base64_encode( substr( $mac, 16 ) ), '+/', '-_' ), '=' ) . "\r\n";
}

/**
 * A complete keep-alive answer with Content-Length.
 *
 * @param string $json   The body.
 * @param string $proof  The proof header line ('' for none).
 * @param string $status The status line's code and reason.
 * @param string $type   The Content-Type.
 * @return string The answer.
 */
function keybridge_scripted_answer( $json, $proof = '', $status = '200 OK', $type = 'application/json' ) {
	return 'HTTP/1.1 ' . $status . "\r\nContent-Type: " . $type . "\r\n" . $proof . 'Content-Length: ' . strlen( $json ) . "\r\nConnection: keep-alive\r\n\r\n" . $json;
}

/**
 * The router mode's answer to one request (null: none, the connection is held).
 *
 * @param array  $request The request.
 * @param string $proof   The proof header line.
 * @return string|null The answer.
 */
function keybridge_scripted_route( array $request, string $proof ) {
	$path = explode( ' ', $request['line'] )[1];
	switch ( $path ) {
		case '/v1/health':
			return keybridge_scripted_answer( '<html>hello</html>', $proof, '200 OK', 'text/html' );
		case '/v1/status':
			return keybridge_scripted_answer( '[1,2,3]', $proof );
		case '/v1/keys':
			return keybridge_scripted_answer( 'Internal Server Error', $proof, '500 Internal Server Error', 'text/html' );
		case '/v1/keys/set':
			return keybridge_scripted_answer( '{"type":"invalid-name","title":"The key name is invalid","status":422,"detail":"names are 1 to 200 characters","field":"name"}', $proof, '422 Unprocessable Entity', 'application/problem+json' );
		case '/v1/production':
			return keybridge_scripted_answer( '{"status":"pending"}', $proof, '202 Accepted' );
		case '/v1/keys/get':
			$echo = array(
				'body'          => $request['body'],
				'authorization' => isset( $request['headers']['authorization'] ) ? $request['headers']['authorization'] : '',
				'content_type'  => isset( $request['headers']['content-type'] ) ? $request['headers']['content-type'] : '',
			);
			return keybridge_scripted_answer( json_encode( $echo ), $proof );
		case '/v1/keys/fetch':
			return null;
	}
	return keybridge_scripted_answer( '{}', $proof, '404 Not Found' );
}

$keybridge_connections = 0;
$keybridge_held        = array();
while ( true ) {
	$conn = @stream_socket_accept( $keybridge_server, 3600 );
	if ( false === $conn ) {
		continue;
	}
	++$keybridge_connections;
	$requests = 0;
	while ( true ) {
		$request = keybridge_scripted_read_request( $conn );
		if ( null === $request ) {
			break;
		}
		++$requests;
		file_put_contents( $keybridge_log, $keybridge_connections . ' ' . $request['line'] . "\n", FILE_APPEND );
		$proof = keybridge_scripted_proof( $request, 'wrong-proof' === $keybridge_mode ? str_repeat( 'w', 43 ) : $keybridge_token );
		$proof = 'no-proof' === $keybridge_mode ? '' : $proof;
		$ok    = keybridge_scripted_answer( '{"status":"ok","connection":' . $keybridge_connections . ',"request":' . $requests . '}', $proof );
		if ( 'keep' === $keybridge_mode || 'no-proof' === $keybridge_mode || 'wrong-proof' === $keybridge_mode ) {
			fwrite( $conn, $ok );
		} elseif ( 'refuse' === $keybridge_mode ) {
			fwrite( $conn, keybridge_scripted_answer( '{"type":"unauthorized","title":"no","status":401,"detail":"call 555-SCAM"}', '', '401 Unauthorized', 'application/problem+json' ) );
		} elseif ( 'router' === $keybridge_mode ) {
			$answer = keybridge_scripted_route( $request, $proof );
			if ( null === $answer ) {
				// Held unanswered (never read again), so the next client is served meanwhile.
				$keybridge_held[] = $conn;
				continue 2;
			}
			fwrite( $conn, $answer );
		} elseif ( 'close-after-each' === $keybridge_mode ) {
			fwrite( $conn, $ok );
			break;
		} elseif ( 'drop-second' === $keybridge_mode || 'cut-head-second' === $keybridge_mode ) {
			if ( 1 === $requests ) {
				fwrite( $conn, $ok );
				continue;
			}
			if ( 'cut-head-second' === $keybridge_mode ) {
				fwrite( $conn, "HTTP/1.1 200 OK\r\nContent-" );
			}
			break;
		} elseif ( 'cut-body' === $keybridge_mode ) {
			fwrite( $conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" . $proof . "Content-Length: 100\r\n\r\n{\"status\":" );
			break;
		} elseif ( 'large' === $keybridge_mode ) {
			$json = '{"status":"ok","filler":"' . str_repeat( 'x', 65536 ) . '"}';
			foreach ( str_split( keybridge_scripted_answer( $json, $proof ), 4096 ) as $piece ) {
				fwrite( $conn, $piece );
				usleep( 200 );
			}
		} elseif ( 'chunked' === $keybridge_mode ) {
			fwrite( $conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" . $proof . "Transfer-Encoding: chunked\r\n\r\n" );
			fwrite( $conn, "a;ext=1\r\n{\"status\":\r\n" );
			usleep( 2000 );
			fwrite( $conn, "5\r\n\"ok\"}\r\n0\r\nX-Trailer: t\r\n\r\n" );
		} elseif ( 'until-close' === $keybridge_mode ) {
			fwrite( $conn, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n" . $proof . "\r\n{\"status\":" );
			usleep( 2000 );
			fwrite( $conn, '"ok"}' );
			break;
		}
	}
	fclose( $conn );
}
