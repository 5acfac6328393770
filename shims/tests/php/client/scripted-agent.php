<?php
/**
 * A unix-socket HTTP/1.1 server that misbehaves on purpose, for ClientConnectionTest:
 *
 *   php scripted-agent.php SOCKET MODE LOG
 *
 * Serves connections one after another (the client under test makes one call at a time) and
 * appends "<connection> <request line>" to LOG for every request it reads. Modes:
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
 *
 * @package Keybridge
 */

list( , $keybridge_socket, $keybridge_mode, $keybridge_log ) = $argv;
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
 * @return string|null Its request line, or null when the client closed the connection.
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
	return strtok( $head, "\r\n" );
}

/**
 * A complete keep-alive answer with Content-Length.
 *
 * @param string $json The body.
 * @return string The answer.
 */
function keybridge_scripted_answer( $json ) {
	return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . strlen( $json ) . "\r\nConnection: keep-alive\r\n\r\n" . $json;
}

$keybridge_connections = 0;
while ( true ) {
	$conn = @stream_socket_accept( $keybridge_server, 3600 );
	if ( false === $conn ) {
		continue;
	}
	++$keybridge_connections;
	$requests = 0;
	while ( true ) {
		$line = keybridge_scripted_read_request( $conn );
		if ( null === $line ) {
			break;
		}
		++$requests;
		file_put_contents( $keybridge_log, $keybridge_connections . ' ' . $line . "\n", FILE_APPEND );
		$ok = keybridge_scripted_answer( '{"status":"ok","connection":' . $keybridge_connections . ',"request":' . $requests . '}' );
		if ( 'keep' === $keybridge_mode ) {
			fwrite( $conn, $ok );
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
			fwrite( $conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"status\":" );
			break;
		} elseif ( 'large' === $keybridge_mode ) {
			$json = '{"status":"ok","filler":"' . str_repeat( 'x', 65536 ) . '"}';
			foreach ( str_split( keybridge_scripted_answer( $json ), 4096 ) as $piece ) {
				fwrite( $conn, $piece );
				usleep( 200 );
			}
		} elseif ( 'chunked' === $keybridge_mode ) {
			fwrite( $conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" );
			fwrite( $conn, "a;ext=1\r\n{\"status\":\r\n" );
			usleep( 2000 );
			fwrite( $conn, "5\r\n\"ok\"}\r\n0\r\nX-Trailer: t\r\n\r\n" );
		} elseif ( 'until-close' === $keybridge_mode ) {
			fwrite( $conn, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"status\":" );
			usleep( 2000 );
			fwrite( $conn, '"ok"}' );
			break;
		}
	}
	fclose( $conn );
}
