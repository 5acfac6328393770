<?php
/**
 * Times secret reads inside one PHP process that has loaded WordPress (wp-load.php) the way a
 * page request does, and prints one JSON object. Run with APCu and OPcache on in the CLI, as
 * php-fpm has them:
 *
 *   WP_PATH=… WP_URL=… BENCH_KEY=name BENCH_OPTION=name [BENCH_ROUNDS=5] [BENCH_N=1000] \
 *     php -d apc.enable_cli=1 -d opcache.enable_cli=1 measure.php
 *
 * Rows (each round times every row in turn, so drift in the machine hits all of them alike):
 *   select  the plain `SELECT option_value … WHERE option_name = …` of a non-autoloaded option
 *           on WordPress's own MariaDB connection (unix socket, reused): the yardstick;
 *   wpdb    the same query through $wpdb->get_var(), what get_option() pays for such an option;
 *   warm    keybridge_get_key(): ciphertext from APCu, opened in PHP with the KEK;
 *   cold    a read as in a new page request with an empty cache: a new client (new agent
 *           connection, token file read) and Keybridge_Keys, one keys.fetch call, the open.
 *           The cache is emptied outside the timed part.
 *   persistent  the cold read with the client option `persistent` (KEYBRIDGE_PERSISTENT_CONNECTION):
 *           the socket an earlier request of this PHP process left open is used again, as in
 *           a php-fpm worker's next request; everything else as in `cold`.
 *   agent   the agent's share of `cold`: the same keys.fetch request, signed with a fresh proof
 *           as the client signs it, written by hand on a new unix socket connection and its
 *           answer read, with no client, cache or open around it (what is left of `cold` after
 *           this is PHP's own work; the agent's proof in the answer is not checked here);
 *   bare    the floor of any local process: the same request on a new unix socket connection to
 *           a do-nothing node:http server (BENCH_BARE_SOCKET, bench/baseline-server.ts)
 *           measured in the same run; DESIGN.md's target is cold ≤ 1.3× this.
 *
 * @package keybridge
 */

$url                        = getenv( 'WP_URL' );
$_SERVER['HTTP_HOST']       = parse_url( $url, PHP_URL_HOST ) . ':' . parse_url( $url, PHP_URL_PORT );
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
require getenv( 'WP_PATH' ) . '/wp-load.php';

global $wpdb;
$name   = getenv( 'BENCH_KEY' );
$option = getenv( 'BENCH_OPTION' );
$rounds = max( 1, (int) ( getenv( 'BENCH_ROUNDS' ) ? getenv( 'BENCH_ROUNDS' ) : 5 ) );
$n      = max( 10, (int) ( getenv( 'BENCH_N' ) ? getenv( 'BENCH_N' ) : 1000 ) );

if ( ! function_exists( 'apcu_enabled' ) || ! apcu_enabled() ) {
	fwrite( STDERR, "measure.php: APCu is off: run php with -d apc.enable_cli=1 (and php-apcu installed)\n" );
	exit( 1 );
}
$sql      = $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s LIMIT 1", $option );
$dbh      = $wpdb->dbh;
$expected = $wpdb->get_var( $sql );
if ( null === $expected || keybridge_get_key( $name ) !== $expected ) {
	fwrite( STDERR, "measure.php: the option and the key do not hold the same value: run setup.php first\n" );
	exit( 1 );
}

$readers = array(
	'select'     => function () use ( $dbh, $sql ) {
		$result = mysqli_query( $dbh, $sql );
		$row    = mysqli_fetch_row( $result );
		mysqli_free_result( $result );
		return $row[0];
	},
	'wpdb'       => function () use ( $wpdb, $sql ) {
		return $wpdb->get_var( $sql );
	},
	'warm'       => function () use ( $name ) {
		return keybridge_get_key( $name );
	},
	'cold'       => function () use ( $name ) {
		$keys = new Keybridge_Keys( new Keybridge_Client( KEYBRIDGE_AGENT, KEYBRIDGE_TOKEN_FILE ) );
		return array( $keys->read( $name ), $keys );
	},
	'persistent' => function () use ( $name ) {
		$keys = new Keybridge_Keys( new Keybridge_Client( KEYBRIDGE_AGENT, KEYBRIDGE_TOKEN_FILE, array( 'persistent' => true ) ) );
		return array( $keys->read( $name ), $keys );
	},
);
/**
 * One HTTP/1.1 request on a new unix socket connection and its answer (read to its
 * Content-Length), as a cold read's client does with no client object around it.
 *
 * @param string $socket  unix:///path.
 * @param string $request The whole request.
 * @return string The answer.
 */
function keybridge_bench_raw_round_trip( $socket, $request ) {
	$connection = stream_socket_client( $socket );
	fwrite( $connection, $request );
	$answer = '';
	$length = null;
	while ( null === $length || strlen( $answer ) < $length ) {
		$more = fread( $connection, 8192 );
		if ( false === $more || '' === $more ) {
			break;
		}
		$answer .= $more;
		$end     = strpos( $answer, "\r\n\r\n" );
		if ( null === $length && false !== $end && preg_match( '/\r\ncontent-length: *([0-9]+)/i', substr( $answer, 0, $end ), $match ) ) {
			$length = $end + 4 + (int) $match[1];
		}
	}
	fclose( $connection );
	return $answer;
}

$fetch = '{"names":[' . wp_json_encode( $name ) . ']}';
if ( 0 === strpos( KEYBRIDGE_AGENT, 'unix:' ) ) {
	$socket           = 'unix://' . substr( KEYBRIDGE_AGENT, 5 );
	$signer           = new Keybridge_Agent_Proof( trim( (string) file_get_contents( KEYBRIDGE_TOKEN_FILE ) ) );
	$readers['agent'] = function () use ( $socket, $fetch, $signer, $expected ) {
		// The first request of a connection carries a fresh proof (a nonce is taken once), as the client's does.
		$signed = $signer->sign( 'POST', '/v1/keys/fetch', 'unix' );
		$answer = keybridge_bench_raw_round_trip(
			$socket,
			"POST /v1/keys/fetch HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\nAuthorization: " . $signed['authorization']
				. "\r\nContent-Type: application/json\r\nContent-Length: " . strlen( $fetch ) . "\r\n\r\n" . $fetch
		);
		// The value is still wrapped here: a found key stands for the right answer.
		return 0 === strpos( $answer, 'HTTP/1.1 200' ) && false !== strpos( $answer, '"found":true' ) ? array( $expected, null ) : array( null, null );
	};
}
$bare_socket = getenv( 'BENCH_BARE_SOCKET' );
if ( is_string( $bare_socket ) && '' !== $bare_socket ) {
	$readers['bare'] = function () use ( $bare_socket, $fetch, $expected ) {
		$answer = keybridge_bench_raw_round_trip(
			'unix://' . $bare_socket,
			"POST /v1/keys/fetch HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: "
				. strlen( $fetch ) . "\r\n\r\n" . $fetch
		);
		return 0 === strpos( $answer, 'HTTP/1.1 200' ) ? array( $expected, null ) : array( null, null );
	};
}
// Rows that start from an empty cache and return array( value, what to keep alive ).
$from_empty = array( 'cold', 'persistent', 'agent', 'bare' );

// What a new request starts from: no ciphertext cached, no client object.
$forget = function () {
	apcu_clear_cache();
	Keybridge_Ciphertext_Cache::reset_request_cache();
};

// A freshly started agent runs slower until V8 has compiled its hot paths: warm it (and this
// process) up first, as a site that has been serving for a while would have.
for ( $i = 0; $i < 500; $i++ ) {
	$forget();
	$readers['cold']();
	$forget();
	$readers['persistent']();
}

$samples = array_fill_keys( array_keys( $readers ), array() );
for ( $round = 0; $round < $rounds; $round++ ) {
	foreach ( $readers as $id => $read ) {
		$cold  = in_array( $id, $from_empty, true );
		$count = $cold ? max( 10, intdiv( $n, 4 ) ) : $n;
		keybridge_get_key( $name ); // Warm the cache for the warm row (a no-op for the others).
		for ( $i = -20; $i < $count; $i++ ) { // 20 untimed warm-up calls.
			// Closes the previous cold read's client (and its connection) before the timer starts.
			$got  = null;
			$kept = null;
			if ( $cold ) {
				$forget();
			}
			$start = hrtime( true );
			$got   = $read();
			$ns    = hrtime( true ) - $start;
			$value = $cold ? $got[0] : $got;
			$kept  = $cold ? $got : null;
			if ( $value !== $expected ) {
				fwrite( STDERR, "measure.php: $id read returned the wrong value (see the fixture's debug.log)\n" );
				exit( 1 );
			}
			if ( $i >= 0 ) {
				$samples[ $id ][] = $ns;
			}
		}
	}
}

$report = array(
	'php'    => PHP_VERSION,
	'rounds' => $rounds,
	'rows'   => array(),
);
foreach ( $samples as $id => $list ) {
	sort( $list );
	$count                 = count( $list );
	$at                    = function ( $q ) use ( $list, $count ) {
		return round( $list[ (int) floor( $q * ( $count - 1 ) ) ] / 1000, 2 );
	};
	$report['rows'][ $id ] = array(
		'n'       => $count,
		'p50_us'  => $at( 0.5 ),
		'p99_us'  => $at( 0.99 ),
		'mean_us' => round( array_sum( $list ) / $count / 1000, 2 ),
		'min_us'  => round( $list[0] / 1000, 2 ),
	);
}
echo wp_json_encode( $report, JSON_PRETTY_PRINT ), "\n";
