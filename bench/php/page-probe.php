<?php
/**
 * Plugin Name: keybridge bench: page-request probe
 * Description: Installed as a must-use plugin by bench/php/page-requests.ts on the bench's own
 * throwaway fixture only. A front-end request with ?keybridge-bench=page times, inside the real
 * page request (WordPress fully loaded, the theme's query run, at template_redirect), the
 * plain SELECT of a non-autoloaded option, the first keybridge_get_key() of the request and a
 * second one, in the order the request asks for, and answers JSON instead of the page.
 *
 * @package keybridge
 */

// phpcs:disable WordPress.Security.NonceVerification.Recommended -- a benchmark switch on a throwaway site.
if ( ! isset( $_GET['keybridge-bench'] ) || 'page' !== $_GET['keybridge-bench'] ) {
	return;
}

/*
 * What loading the keybridge plugin costs every request, whether it reads a secret or not:
 * from the plugin_loaded action of the bench's load marker (an empty plugin that loads just
 * before keybridge) to keybridge's own.
 */
$GLOBALS['keybridge_bench_page'] = array( 'plugins_from' => 0 );
add_action(
	'plugin_loaded',
	static function ( $file ) {
		$now = hrtime( true );
		if ( 'keybridge-bench-load-marker.php' === basename( $file ) ) {
			$GLOBALS['keybridge_bench_page']['plugins_from'] = $now;
		} elseif ( 'keybridge.php' === basename( $file ) && $GLOBALS['keybridge_bench_page']['plugins_from'] > 0 ) {
			$GLOBALS['keybridge_bench_page']['plugin_load_ns'] = $now - $GLOBALS['keybridge_bench_page']['plugins_from'];
		}
	}
);

add_action(
	'template_redirect',
	static function () {
		global $wpdb;
		$key    = isset( $_GET['key'] ) ? sanitize_text_field( wp_unslash( $_GET['key'] ) ) : '';
		$option = isset( $_GET['option'] ) ? sanitize_key( wp_unslash( $_GET['option'] ) ) : '';
		$order  = isset( $_GET['order'] ) && 'read-first' === $_GET['order'] ? 'read-first' : 'select-first';
		$sql    = $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s LIMIT 1", $option );
		$dbh    = $wpdb->dbh;
		$select = static function () use ( $dbh, $sql ) {
			// phpcs:ignore WordPress.DB.RestrictedFunctions -- the bare query is the yardstick.
			$result = mysqli_query( $dbh, $sql );
			// phpcs:ignore WordPress.DB.RestrictedFunctions
			$row = mysqli_fetch_row( $result );
			// phpcs:ignore WordPress.DB.RestrictedFunctions
			mysqli_free_result( $result );
			return $row[0];
		};
		$times = array();
		if ( isset( $_GET['alone'] ) ) {
			$alone = 'protected' === $_GET['alone'] ? 'protected' : 'floor';
			keybridge_bench_page_alone( $select, $order, $alone, $option . '_protected' );
		}
		if ( 'select-first' === $order ) {
			$start           = hrtime( true );
			$expected        = $select();
			$times['select'] = hrtime( true ) - $start;
		}
		$start          = hrtime( true );
		$first          = keybridge_get_key( $key );
		$times['first'] = hrtime( true ) - $start;
		if ( 'read-first' === $order ) {
			$start           = hrtime( true );
			$expected        = $select();
			$times['select'] = hrtime( true ) - $start;
		}
		$start           = hrtime( true );
		$second          = keybridge_get_key( $key );
		$times['second'] = hrtime( true ) - $start;
		// What noting one read for its caller costs inside keybridge_get_key(): who called, the
		// allow-list check (none set here), the note. Part of `first` and `second` above too.
		$start                = hrtime( true );
		$call                 = debug_backtrace( DEBUG_BACKTRACE_IGNORE_ARGS, 1 ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_debug_backtrace
		$file                 = isset( $call[0]['file'] ) ? $call[0]['file'] : '';
		$alloptions           = wp_cache_get( 'alloptions', 'options' );
		$allowed              = ! isset( $alloptions['keybridge_key_access'] );
		keybridge_count_read( $key, $file );
		$times['attribution'] = hrtime( true ) - $start;
		// And what the request pays at its end for its reads: each put down to its caller and
		// counted in APCu (about once a minute one request also sends the site's batch).
		$start              = hrtime( true );
		keybridge_count_noted_reads();
		$times['usage_end'] = hrtime( true ) - $start;
		$page            = $GLOBALS['keybridge_bench_page'];
		$answer          = array(
			'order'          => $order,
			'select_us'      => $times['select'] / 1000,
			'first_us'       => $times['first'] / 1000,
			'second_us'      => $times['second'] / 1000,
			'attribution_us' => $times['attribution'] / 1000,
			'usage_end_us'   => $times['usage_end'] / 1000,
			'plugin_load_us' => isset( $page['plugin_load_ns'] ) ? $page['plugin_load_ns'] / 1000 : null,
			// The values must be right: a fast wrong answer counts for nothing.
			'ok'             => null !== $first && $first === $expected && $second === $expected && $allowed,
		);
		header( 'Content-Type: application/json' );
		header( 'Cache-Control: no-store' );
		echo wp_json_encode( $answer );
		exit;
	},
	0
);

/**
 * A request that times one read alone as its first keybridge work, with the same SELECT, in the
 * order asked, then answers JSON and ends the request: `floor` (?alone=floor) is
 * keybridge_bench_floor_read() (bench/php/page-floor.php); `protected` (?alone=protected) is
 * get_option() of the protected, autoloaded option setup.php made.
 *
 * @param callable $select    The plain SELECT.
 * @param string   $order     'select-first' or 'read-first'.
 * @param string   $what      'floor' or 'protected'.
 * @param string   $protected Name of the protected option.
 * @return void
 */
function keybridge_bench_page_alone( $select, $order, $what, $protected ) {
	$times = array();
	if ( 'select-first' === $order ) {
		$start           = hrtime( true );
		$expected        = $select();
		$times['select'] = hrtime( true ) - $start;
	}
	$start        = hrtime( true );
	$read         = 'floor' === $what ? keybridge_bench_floor_read() : get_option( $protected );
	$times['read'] = hrtime( true ) - $start;
	if ( 'read-first' === $order ) {
		$start           = hrtime( true );
		$expected        = $select();
		$times['select'] = hrtime( true ) - $start;
	}
	if ( 'floor' === $what && null === $read ) {
		// The first floor request of the run: keep the value encrypted for the next ones.
		keybridge_bench_floor_store( $expected );
	}
	header( 'Content-Type: application/json' );
	header( 'Cache-Control: no-store' );
	echo wp_json_encode(
		array(
			'order'     => $order,
			'select_us' => $times['select'] / 1000,
			'read_us'   => $times['read'] / 1000,
			'read'      => null !== $read && false !== $read,
			'ok'        => ( 'floor' === $what && null === $read ) || $read === $expected,
		)
	);
	exit;
}
