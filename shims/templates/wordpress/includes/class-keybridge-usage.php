<?php
/**
 * Which plugin reads which key.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Every read through keybridge_get_key(), a protected option or a constant is put down to the
 * code that asked: `plugin:<folder>`, `mu-plugin:<file>`, `theme:<folder>`, `core` or
 * `unknown`, from the path of the calling file (no registration by the plugin needed).
 *
 * Counting costs a page no database write: a request adds its counts to APCu when it ends,
 * and about once a minute one request sends the site's batch to the agent (`usage.report`,
 * which the key service records in its audit) and adds it to the non-autoloaded option
 * `keybridge_usage` that the settings page and `wp keybridge keys usage` show. Without APCu
 * each request's counts go to the agent when it ends, and nothing is kept locally.
 *
 * An optional allow list per key (`keybridge_key_access`, autoloaded) names the callers that
 * may read it; any other gets null and a logged `access-denied`. It guards against mistakes
 * (a plugin reading a key it was never meant to), not against hostile code: code running in
 * WordPress can call the agent itself, or pretend to be another file.
 */
class Keybridge_Usage {

	const OPTION        = 'keybridge_usage';
	const ACCESS_OPTION = 'keybridge_key_access';

	/**
	 * Most entries one usage.report call carries (the spec's maxItems).
	 */
	const BATCH = 500;

	/**
	 * This request's counts: scope => name => caller => array( reads, denied, last read time ).
	 *
	 * @var array
	 */
	private static $counts = array();

	/**
	 * Calling file => caller, for this request.
	 *
	 * @var array<string, string>
	 */
	private static $callers = array();

	/**
	 * The access option's text and its decoded map, for this request.
	 *
	 * @var array|null
	 */
	private static $access = null;

	/**
	 * Whether the end-of-request flush is registered.
	 *
	 * @var bool
	 */
	private static $hooked = false;

	/**
	 * The path as wp_normalize_path() gives it, without calling it for a path it would return
	 * as it is (no backslash, no repeated slash or stream wrapper, no drive letter): it lists
	 * the stream wrappers on every call, and classifying a caller normalizes a few paths.
	 *
	 * @param string $path A path.
	 * @return string
	 */
	private static function normal_path( $path ) {
		$path = (string) $path;
		if ( false === strpos( $path, '\\' ) && false === strpos( $path, '//' ) && ( ! isset( $path[1] ) || ':' !== $path[1] ) ) {
			return $path;
		}
		return wp_normalize_path( $path );
	}

	/**
	 * Who a file belongs to: plugin:<folder>, mu-plugin:<file>, theme:<folder>, core or unknown.
	 *
	 * @param string $file Absolute path of the calling file.
	 * @return string
	 */
	public static function caller_of_file( $file ) {
		$file = (string) $file;
		if ( isset( self::$callers[ $file ] ) ) {
			return self::$callers[ $file ];
		}
		$path = self::normal_path( $file );
		// Symlinked plugins: WordPress records each one's real path (wp_register_plugin_realpath()).
		foreach ( isset( $GLOBALS['wp_plugin_paths'] ) ? (array) $GLOBALS['wp_plugin_paths'] : array() as $link => $real ) {
			if ( 0 === strpos( $path, self::normal_path( $real ) . '/' ) ) {
				$path = self::normal_path( $link ) . substr( $path, strlen( self::normal_path( $real ) ) );
				break;
			}
		}
		$roots  = array(
			'mu-plugin' => array( WPMU_PLUGIN_DIR ),
			'plugin'    => array( WP_PLUGIN_DIR ),
			'theme'     => isset( $GLOBALS['wp_theme_directories'] ) ? (array) $GLOBALS['wp_theme_directories'] : array( WP_CONTENT_DIR . '/themes' ),
		);
		$caller = null;
		foreach ( $roots as $kind => $dirs ) {
			foreach ( $dirs as $dir ) {
				$dir = rtrim( self::normal_path( $dir ), '/' ) . '/';
				if ( 0 === strpos( $path, $dir ) ) {
					$first  = explode( '/', substr( $path, strlen( $dir ) ), 2 )[0];
					$caller = $kind . ':' . preg_replace( '/\.php$/', '', $first );
					break 2;
				}
			}
		}
		if ( null === $caller ) {
			$abspath = self::normal_path( ABSPATH );
			$caller  = 0 === strpos( $path, $abspath . WPINC . '/' ) || 0 === strpos( $path, $abspath . 'wp-admin/' ) || dirname( $path ) . '/' === $abspath ? 'core' : 'unknown';
		}
		self::$callers[ $file ] = $caller;
		return $caller;
	}

	/**
	 * The caller of the function `$function` as a backtrace shows it (the file that called it).
	 *
	 * @param string $function The function whose caller is wanted, e.g. get_option.
	 * @param int    $depth    How many frames to look at.
	 * @return string
	 */
	public static function caller_of_call( $function, $depth ) {
		$file = keybridge_file_calling( $function, $depth + 1 );
		return '' === $file ? 'unknown' : self::caller_of_file( $file );
	}

	/**
	 * Whether a caller may read a key: yes unless the key has an allow list without it. A
	 * refusal is counted and logged as access-denied (the key's name or hash and the caller).
	 *
	 * @param string $name   Key name.
	 * @param string $caller Caller.
	 * @return bool
	 */
	public static function permit( $name, $caller ) {
		$alloptions = wp_cache_get( 'alloptions', 'options' );
		if ( ! isset( $alloptions[ self::ACCESS_OPTION ] ) ) {
			return true;
		}
		$allowed = self::access_map();
		if ( ! isset( $allowed[ $name ] ) || in_array( $caller, (array) $allowed[ $name ], true ) ) {
			return true;
		}
		self::count( $name, $caller, 1 );
		// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- the documented place for this refusal.
		error_log( sprintf( 'keybridge: %s may not read %s: access-denied (the key\'s allow list does not name it)', $caller, Keybridge_Keys::describe( $name ) ) );
		return false;
	}

	/**
	 * Counts one read.
	 *
	 * @param string $name   Key name.
	 * @param string $caller Caller.
	 * @return void
	 */
	public static function record( $name, $caller ) {
		self::count( $name, $caller, 0 );
	}

	/**
	 * Puts reads noted by keybridge_get_key() down to their callers, then flushes (the end of a
	 * request without APCu; with APCu, keybridge_count_noted_reads() counts them itself).
	 *
	 * @param array[] $reads Each array( name, calling file, table prefix ).
	 * @return void
	 */
	public static function count_reads( array $reads ) {
		// Flushed right here, so count() must not register a flush of its own.
		$hooked       = self::$hooked;
		self::$hooked = true;
		foreach ( $reads as $read ) {
			self::count( $read[0], self::caller_of_file( $read[1] ), 0, keybridge_usage_scope( $read[2] ) );
		}
		self::$hooked = $hooked;
		self::flush();
	}

	/**
	 * The allow list of a key (empty: any caller may read it).
	 *
	 * @param string $name Key name.
	 * @return string[]
	 */
	public static function allowed( $name ) {
		$map = self::access_map();
		return isset( $map[ $name ] ) ? array_values( (array) $map[ $name ] ) : array();
	}

	/**
	 * Sets (or with an empty list, removes) a key's allow list.
	 *
	 * @param string   $name    Key name.
	 * @param string[] $callers plugin:<folder>, mu-plugin:<file>, theme:<folder> or core.
	 * @return void
	 * @throws Keybridge_Exception Type `invalid-field` for a caller that is none of those.
	 */
	public static function set_allowed( $name, array $callers ) {
		$clean = array();
		foreach ( $callers as $caller ) {
			$caller = trim( (string) $caller );
			if ( 1 !== preg_match( '/^(?:(?:plugin|mu-plugin|theme):[A-Za-z0-9._-]{1,100}|core)$/', $caller ) ) {
				throw new Keybridge_Exception( 'invalid-field', __( 'Name each reader as plugin:<folder>, mu-plugin:<file>, theme:<folder> or core.', 'keybridge' ), 0, 'callers' );
			}
			$clean[ $caller ] = true;
		}
		$map = self::access_map();
		if ( array() === $clean ) {
			unset( $map[ (string) $name ] );
		} else {
			$map[ (string) $name ] = array_keys( $clean );
		}
		if ( array() === $map ) {
			delete_option( self::ACCESS_OPTION );
		} else {
			update_option( self::ACCESS_OPTION, $map, true );
		}
		self::$access = null;
	}

	/**
	 * What was counted so far on this site: one row per key and caller.
	 *
	 * @param string|null $name Only this key (null: all).
	 * @return array[] name, caller, reads, denied, last_read_at (ISO 8601), sorted by name and caller.
	 */
	public static function summary( $name = null ) {
		$rows = array();
		foreach ( self::stored() as $key => $callers ) {
			if ( null !== $name && (string) $key !== (string) $name ) {
				continue;
			}
			foreach ( $callers as $caller => $counts ) {
				$rows[] = array(
					'name'         => (string) $key,
					'caller'       => (string) $caller,
					'reads'        => (int) $counts[0],
					'denied'       => (int) $counts[1],
					'last_read_at' => gmdate( 'Y-m-d\TH:i:s\Z', (int) $counts[2] ),
				);
			}
		}
		usort(
			$rows,
			static function ( $a, $b ) {
				return array( $a['name'], $a['caller'] ) <=> array( $b['name'], $b['caller'] );
			}
		);
		return $rows;
	}

	/**
	 * Shutdown: this request's counts into APCu, and once a period (keybridge_usage_batch_due(),
	 * 60 s unless filtered; or when `$now`) the site's batch to the agent and the option.
	 * Without APCu the request's counts go to the agent directly.
	 *
	 * @param bool $now Send the site's batch now (wp keybridge keys usage, tests).
	 * @return void
	 */
	public static function flush( $now = false ) {
		$counts       = self::$counts;
		self::$counts = array();
		if ( ! function_exists( 'apcu_enabled' ) || ! apcu_enabled() ) {
			$mine = isset( $counts[ self::scope() ] ) ? $counts[ self::scope() ] : array();
			if ( array() !== $mine ) {
				self::report( $mine );
			}
			return;
		}
		keybridge_usage_to_apcu( $counts );
		if ( $now || keybridge_usage_batch_due() ) {
			self::send_batch();
		}
	}

	/**
	 * Takes this site's counts out of APCu and reports them.
	 *
	 * @return void
	 */
	private static function send_batch() {
		$scope  = self::scope();
		$reads  = keybridge_usage_key( 'r', $scope );
		$denied = keybridge_usage_key( 'd', $scope );
		$batch  = array();
		foreach ( new APCUIterator( '/^(?:' . preg_quote( $reads, '/' ) . '|' . preg_quote( $denied, '/' ) . ')/s', APC_ITER_KEY | APC_ITER_VALUE ) as $key => $entry ) {
			// Both kinds' keys are as long up to the key name.
			list( $name, $caller ) = explode( "\0", substr( $key, strlen( $reads ) ), 2 );
			$taken                 = (int) $entry['value'];
			if ( $taken <= 0 ) {
				continue;
			}
			// Subtract what is reported, so reads counted meanwhile stay for the next batch.
			apcu_dec( $key, $taken );
			if ( ! isset( $batch[ $name ][ $caller ] ) ) {
				$last                      = apcu_fetch( keybridge_usage_key( 't', $scope, $name . "\0" . $caller ) );
				$batch[ $name ][ $caller ] = array( 0, 0, is_int( $last ) ? $last : time() );
			}
			$slot                                = 0 === strpos( $key, $reads ) ? 0 : 1;
			$batch[ $name ][ $caller ][ $slot ] += $taken;
		}
		if ( array() !== $batch ) {
			self::report( $batch );
			self::keep( $batch );
		}
	}

	/**
	 * Sends counts to the agent (usage.report), which has the key service record them.
	 *
	 * @param array $batch name => caller => array( reads, denied, last read time ).
	 * @return void
	 */
	private static function report( array $batch ) {
		$entries = array();
		foreach ( $batch as $name => $callers ) {
			foreach ( $callers as $caller => $count ) {
				$entries[] = array(
					'name'         => Keybridge_Site_Names::to_agent( (string) $name ),
					'caller'       => (string) $caller,
					'reads'        => (int) $count[0],
					'denied'       => (int) $count[1],
					'last_read_at' => gmdate( 'Y-m-d\TH:i:s\Z', (int) $count[2] ),
				);
			}
		}
		try {
			foreach ( array_chunk( $entries, self::BATCH ) as $chunk ) {
				Keybridge_Plugin::client()->usage_report( array( 'entries' => $chunk ) );
			}
		} catch ( Keybridge_Exception $e ) {
			// The site keeps its own record below; the key service's audit misses this batch.
			keybridge_log_problem( 'keybridge usage report', (string) count( $entries ) . ' entries', $e );
		}
	}

	/**
	 * Adds a batch to the option the settings page shows (one write per batch, never per read).
	 *
	 * @param array $batch name => caller => array( reads, denied, last read time ).
	 * @return void
	 */
	private static function keep( array $batch ) {
		$stored = self::stored();
		foreach ( $batch as $name => $callers ) {
			foreach ( $callers as $caller => $count ) {
				$before                     = isset( $stored[ $name ][ $caller ] ) ? $stored[ $name ][ $caller ] : array( 0, 0, 0 );
				$stored[ $name ][ $caller ] = array( $before[0] + $count[0], $before[1] + $count[1], max( $before[2], $count[2] ) );
			}
		}
		update_option( self::OPTION, $stored, false );
	}

	/**
	 * The kept counts: name => caller => array( reads, denied, last read time ).
	 *
	 * @return array
	 */
	private static function stored() {
		$stored = get_option( self::OPTION, array() );
		return is_array( $stored ) ? $stored : array();
	}

	/**
	 * Adds to this request's counts, and makes sure they are flushed when it ends.
	 *
	 * @param string      $name   Key name.
	 * @param string      $caller Caller.
	 * @param int         $slot   0: a read, 1: a refusal.
	 * @param string|null $scope  The site's scope (null: the current site's).
	 * @return void
	 */
	private static function count( $name, $caller, $slot, $scope = null ) {
		$scope = null === $scope ? self::scope() : $scope;
		if ( ! isset( self::$counts[ $scope ][ $name ][ $caller ] ) ) {
			self::$counts[ $scope ][ $name ][ $caller ] = array( 0, 0, 0 );
			if ( ! self::$hooked ) {
				self::$hooked = true;
				register_shutdown_function( array( __CLASS__, 'flush' ) );
			}
		}
		++self::$counts[ $scope ][ $name ][ $caller ][ $slot ];
		self::$counts[ $scope ][ $name ][ $caller ][2] = time();
	}

	/**
	 * The allow lists, decoded once per request.
	 *
	 * @return array name => callers.
	 */
	private static function access_map() {
		$alloptions = wp_cache_get( 'alloptions', 'options' );
		if ( ! is_array( $alloptions ) ) {
			$alloptions = wp_load_alloptions();
		}
		$row = isset( $alloptions[ self::ACCESS_OPTION ] ) ? $alloptions[ self::ACCESS_OPTION ] : '';
		if ( null === self::$access || $row !== self::$access[0] ) {
			$map          = '' === $row ? array() : maybe_unserialize( $row );
			self::$access = array( $row, is_array( $map ) ? $map : array() );
		}
		return self::$access[1];
	}

	/**
	 * What this site's counts belong to in a shared APCu (the install and the site's tables).
	 *
	 * @return string
	 */
	private static function scope() {
		return keybridge_usage_scope( $GLOBALS['wpdb']->prefix );
	}
}
