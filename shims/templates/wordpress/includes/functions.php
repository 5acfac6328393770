<?php
/**
 * The public functions other plugins and themes call, and the two paths of a page that must
 * not load a class: reading a cached key and counting reads at the request's end.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The value of a key, or null when it cannot be read (the reason is logged, never the value).
 *
 * The read is counted for the plugin, theme or core file that called this function
 * (Keybridge_Usage), and refused (null, a logged access-denied) when the key's allow list does
 * not name that caller.
 *
 * @param string $name Key name, used as given.
 * @return string|null The value's bytes.
 */
function keybridge_get_key( $name ) {
	// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_debug_backtrace -- who called: usage and allow lists.
	$call = debug_backtrace( DEBUG_BACKTRACE_IGNORE_ARGS, 1 );
	$file = isset( $call[0]['file'] ) ? $call[0]['file'] : '';
	// Only a site with allow lists pays for the check (and for loading its class) on a read.
	$alloptions = wp_cache_get( 'alloptions', 'options' );
	if ( isset( $alloptions['keybridge_key_access'] ) && ! Keybridge_Usage::permit( $name, Keybridge_Usage::caller_of_file( $file ) ) ) {
		return null;
	}
	$value = keybridge_cached_value( $name, $alloptions );
	if ( null === $value ) {
		try {
			$value = Keybridge_Keys::instance()->read( $name );
		} catch ( Keybridge_Exception $e ) {
			keybridge_log_problem( 'keybridge_get_key', $name, $e );
			return null;
		}
	}
	keybridge_count_read( $name, $file );
	return $value;
}

/**
 * The read most pages make, without loading a class: the name's KEK in the autoloaded row,
 * its ciphertext in APCu, libsodium's AES-256-GCM. Anything else (a miss, an expired or
 * foreign entry, a value that does not open, no APCu) returns null and Keybridge_Keys::read()
 * takes over, which reports problems and fetches.
 *
 * Why a function: the first read of a page pays for every class it loads and every object it
 * makes (3-10 µs each on a page, where the SELECT it replaces costs ~100-200 µs and the budget
 * is a tenth of that; bench/php/README.md). It reads what Keybridge_Ciphertext_Cache::put()
 * writes and opens it as Keybridge_Kb1::open_raw() does; CachedReadTest holds it to the full
 * path's answers. Like Keybridge_Ciphertext_Cache, it keeps the records this request took
 * (ciphertext, AAD and the KEK's bytes; never a value) until their expiry, so a later read of
 * the same key skips APCu and the KEK lookup; any write or delete of the request, through
 * that class, forgets them, and a changed KEK row is not used with them.
 *
 * @internal
 * @param string|null $name       Key name, used as given; null forgets the records taken.
 * @param array|false $alloptions WordPress's autoloaded options of the current site.
 * @return string|null The value's bytes, or null: take the full read path.
 */
function keybridge_cached_value( $name, $alloptions ) {
	static $taken = array();

	/*
	 * The name is used as given, where the full path first normalizes it (NFC): that is the
	 * same read, because the full path keeps entries only under names it normalized, so a
	 * name that finds an entry is its own normal form.
	 */
	if ( ! isset( $alloptions['keybridge_keks'] ) || ! is_string( $name ) || ! function_exists( 'apcu_fetch' ) ) {
		if ( null === $name ) {
			$taken = array();
		}
		return null;
	}
	$row    = $alloptions['keybridge_keks'];
	$prefix = $GLOBALS['wpdb']->prefix;
	$memo   = $prefix . "\0" . $name;
	// Taken: until, AAD, nonce, ciphertext . tag, the KEK row it opened under, the KEK's bytes.
	// While WordPress holds the same row (=== on the same string is one pointer comparison),
	// the KEK is the same and a later read is the decryption alone.
	$open = isset( $taken[ $memo ] ) && $row === $taken[ $memo ][4] && $taken[ $memo ][0] > microtime( true ) ? $taken[ $memo ] : null;
	if ( null === $open ) {
		$kek = keybridge_kek_in_row( $row, $name );
		if ( null === $kek ) {
			return null;
		}
		// The cache scope and keys of Keybridge_Keys::cache_scope() and Keybridge_Ciphertext_Cache.
		$scope   = ABSPATH . "\0" . $prefix . "\0" . ( defined( 'KEYBRIDGE_AGENT' ) && is_string( KEYBRIDGE_AGENT ) ? KEYBRIDGE_AGENT : '' );
		$context = 'keybridge:c' . strlen( $scope ) . ':' . $scope;
		$entry   = 'keybridge:e' . strlen( $scope ) . ':' . $scope . $name;
		$both    = apcu_fetch( array( $context, $entry ) );
		if ( ! isset( $both[ $context ], $both[ $entry ] ) || ! is_string( $both[ $context ] ) || ! is_string( $both[ $entry ] ) ) {
			return null;
		}
		// Entry: expires_at, site_id, environment, key_id, kek_id, version, nonce . ct . tag.
		// Context: expires_at, site_id, environment (the vault the agent serves now).
		$record = explode( "\0", $both[ $entry ], 7 );
		$vault  = explode( "\0", $both[ $context ], 3 );
		$until  = min( (float) $record[0], (float) $vault[0] );
		if ( 7 !== count( $record ) || 3 !== count( $vault ) || $until <= microtime( true )
			|| $record[1] !== $vault[1] || $record[2] !== $vault[2] || strlen( $record[6] ) < 28 ) {
			return null;
		}
		try {
			// The AAD of Keybridge_Kb1::aad(); a KEK that is not canonical base64url throws.
			$open = array( $until, "kb1\0" . $record[1] . "\0" . $record[2] . "\0" . $record[3], substr( $record[6], 0, 12 ), substr( $record[6], 12 ), $row, sodium_base642bin( substr( $kek, 4 ), SODIUM_BASE64_VARIANT_URLSAFE_NO_PADDING ) );
		} catch ( SodiumException $e ) {
			return null;
		}
	}
	try {
		// Throws for a KEK of the wrong size, and for libsodium without AES-NI.
		$value = sodium_crypto_aead_aes256gcm_decrypt( $open[3], $open[1], $open[2], $open[5] );
	} catch ( SodiumException $e ) {
		$value = false;
	}
	if ( ! is_string( $value ) ) {
		// Forged, cut, or under another KEK: the full path says which, and fetches anew.
		unset( $taken[ $memo ] );
		return null;
	}
	$taken[ $memo ] = $open;
	return $value;
}

/**
 * The KEK of one name, picked out of the keybridge_keks row's serialized text without
 * unserializing the whole map (Keybridge_Keks::get() falls back to that).
 *
 * @internal
 * @param string $row  The option's text as WordPress loaded it.
 * @param string $name Key name without a quote.
 * @return string|null The "kb1$" KEK string (47 characters), or null when not found this way.
 */
function keybridge_kek_in_row( $row, $name ) {
	if ( ! is_string( $row ) || false !== strpos( $name, '"' ) ) {
		return null;
	}
	$needle = 's:' . strlen( $name ) . ':"' . $name . '";s:47:"kb1$';
	$at     = strpos( $row, $needle );
	// An element starts after "{" or ";", and a kb1 KEK is 47 characters and a quote.
	if ( false === $at || 0 === $at || ( '{' !== $row[ $at - 1 ] && ';' !== $row[ $at - 1 ] ) ) {
		return null;
	}
	$kek = substr( $row, $at + strlen( $needle ) - 4, 48 );
	return 48 === strlen( $kek ) && '"' === $kek[47] ? substr( $kek, 0, 47 ) : null;
}

/**
 * The file that called the function `$function`, as the backtrace shows it (for get_option():
 * the plugin's file, past the filters and WordPress's own frames in between).
 *
 * @internal
 * @param string $function A function's name, e.g. get_option.
 * @param int    $depth    How many frames to look at, this function's own included.
 * @return string The file, or '' when no frame within `$depth` is a call of `$function`.
 */
function keybridge_file_calling( $function, $depth ) {
	// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_debug_backtrace -- attribution, not debugging.
	foreach ( debug_backtrace( DEBUG_BACKTRACE_IGNORE_ARGS, $depth ) as $frame ) {
		if ( isset( $frame['function'], $frame['file'] ) && $function === $frame['function'] && ! isset( $frame['class'] ) ) {
			return $frame['file'];
		}
	}
	return '';
}

/**
 * Notes a read for Keybridge_Usage, which puts it down to its caller when the request ends:
 * the first read of a page loads no class and classifies no path for it.
 *
 * @param string|null $name Key name; null hands over (and forgets) what was noted.
 * @param string      $file The calling file.
 * @return array[] With a null name: the reads noted, each array( name, file, table prefix ).
 */
function keybridge_count_read( $name, $file = '' ) {
	static $reads = null;
	if ( null === $name ) {
		$noted = null === $reads ? array() : $reads;
		$reads = array();
		return $noted;
	}
	if ( null === $reads ) {
		$reads = array();
		// A function name, not array( 'Keybridge_Usage', … ): PHP checks a callable when it is
		// registered, and that would load the class during the read instead of at the end.
		register_shutdown_function( 'keybridge_count_noted_reads' );
	}
	// The site's table prefix: a request that switched sites counts each read for its site.
	$reads[] = array( $name, $file, $GLOBALS['wpdb']->prefix );
	return array();
}

/**
 * At the request's end: puts the reads noted by keybridge_count_read() down to their callers
 * and adds them to the counts in APCu; about once a minute (keybridge_usage_batch_due()) the
 * site's batch goes to the agent through Keybridge_Usage. Like the read, the common case loads
 * no class: on a page it cost ~40 µs more with Keybridge_Usage loaded and its paths classified
 * (bench/php/README.md). Without APCu, Keybridge_Usage reports the request's reads itself.
 *
 * @return void
 */
function keybridge_count_noted_reads() {
	$reads = keybridge_count_read( null );
	if ( ! function_exists( 'apcu_enabled' ) || ! apcu_enabled() ) {
		Keybridge_Usage::count_reads( $reads );
		return;
	}
	$counts = array();
	$now    = time();
	foreach ( $reads as $read ) {
		list( $name, $file, $prefix ) = $read;
		$scope                        = keybridge_usage_scope( $prefix );
		$caller                       = keybridge_caller_of_file( $scope, $file );
		if ( ! isset( $counts[ $scope ][ $name ][ $caller ] ) ) {
			$counts[ $scope ][ $name ][ $caller ] = array( 0, 0, $now );
		}
		++$counts[ $scope ][ $name ][ $caller ][0];
	}
	keybridge_usage_to_apcu( $counts );
	if ( keybridge_usage_batch_due() ) {
		Keybridge_Usage::flush( true );
	}
}

/**
 * What a site's usage counts belong to in a shared APCu: the install and the site's tables.
 *
 * @internal
 * @param string $prefix The site's table prefix.
 * @return string ABSPATH, NUL, table prefix.
 */
function keybridge_usage_scope( $prefix ) {
	return ABSPATH . "\0" . $prefix;
}

/**
 * The APCu key of a usage record, the one format every writer and Keybridge_Usage::send_batch()
 * share: `keybridge:u`, the kind (r reads, d refusals, t last read, c caller of a file, f last
 * batch), the scope's length and the scope (so no scope and rest can spell another scope's
 * key), then the rest (key name, NUL, caller; or a file).
 *
 * @internal
 * @param string $kind  One letter, as above.
 * @param string $scope keybridge_usage_scope().
 * @param string $rest  What follows the scope.
 * @return string
 */
function keybridge_usage_key( $kind, $scope, $rest = '' ) {
	return 'keybridge:u' . $kind . strlen( $scope ) . ':' . $scope . $rest;
}

/**
 * Who a file belongs to (Keybridge_Usage::caller_of_file()), remembered in APCu for five
 * minutes per install and site: classifying a path costs more than the rest of the count.
 * Only counting uses the remembered answer; an allow list asks Keybridge_Usage each time.
 *
 * @internal
 * @param string $scope The site's usage scope (ABSPATH, NUL, table prefix).
 * @param string $file  Absolute path of the calling file.
 * @return string plugin:<folder>, mu-plugin:<file>, theme:<folder>, core or unknown.
 */
function keybridge_caller_of_file( $scope, $file ) {
	$key    = keybridge_usage_key( 'c', $scope, $file );
	$caller = apcu_fetch( $key );
	if ( ! is_string( $caller ) ) {
		$caller = Keybridge_Usage::caller_of_file( $file );
		apcu_store( $key, $caller, 300 );
	}
	return $caller;
}

/**
 * Adds counts to APCu: per site scope, key and caller, the reads and refusals (apcu_inc) and
 * the last read's time.
 *
 * @internal
 * @param array $counts scope => name => caller => array( reads, denied, last read time ).
 * @return void
 */
function keybridge_usage_to_apcu( array $counts ) {
	foreach ( $counts as $scope => $names ) {
		foreach ( $names as $name => $callers ) {
			foreach ( $callers as $caller => $count ) {
				$pair = $name . "\0" . $caller;
				if ( $count[0] > 0 ) {
					apcu_inc( keybridge_usage_key( 'r', $scope, $pair ), $count[0] );
				}
				if ( $count[1] > 0 ) {
					apcu_inc( keybridge_usage_key( 'd', $scope, $pair ), $count[1] );
				}
				apcu_store( keybridge_usage_key( 't', $scope, $pair ), $count[2] );
			}
		}
	}
}

/**
 * Whether this request sends the current site's batch: the first one after each period does.
 * APCu keeps when the last batch went; apcu_add() and apcu_cas() let one request win.
 *
 * @internal
 * @return bool
 */
function keybridge_usage_batch_due() {
	/**
	 * How often a site's counts go to the agent, in seconds (tests make it short).
	 *
	 * @param int $seconds Default 60.
	 */
	$seconds = max( 1, (int) apply_filters( 'keybridge_usage_flush_seconds', 60 ) );
	$flag    = keybridge_usage_key( 'f', keybridge_usage_scope( $GLOBALS['wpdb']->prefix ) );
	$now     = time();
	$last    = apcu_fetch( $flag );
	if ( ! is_int( $last ) ) {
		return apcu_add( $flag, $now );
	}
	return $last <= $now - $seconds && apcu_cas( $flag, $last, $now );
}

/**
 * Fetches several keys in one agent call, so that the keybridge_get_key() calls after it cost
 * no call at all (e.g. every key a page needs, early in the request).
 *
 * @param string[] $names Key names, used as given.
 * @return bool Whether the fetch succeeded (on failure the reads try again one by one).
 */
function keybridge_prefetch_keys( array $names ) {
	try {
		Keybridge_Keys::instance()->prefetch( $names );
		return true;
	} catch ( Keybridge_Exception $e ) {
		keybridge_log_problem( 'keybridge_prefetch_keys', implode( ',', array_map( 'strval', $names ) ), $e );
		return false;
	}
}

/**
 * Stores a value (any bytes, at most Keybridge_Spec::LIMITS['value_bytes']) under a name.
 *
 * @param string $name  Key name, used as given.
 * @param string $value The value.
 * @param string $label Optional label shown in listings.
 * @return bool Whether it was stored.
 */
function keybridge_set_key( $name, $value, $label = '' ) {
	try {
		Keybridge_Keys::instance()->store( $name, $value, $label );
		return true;
	} catch ( Keybridge_Exception $e ) {
		keybridge_log_problem( 'keybridge_set_key', $name, $e );
		return false;
	}
}

/**
 * Deletes a key from this environment's vault and forgets its wrapping key.
 *
 * @param string $name Key name, used as given.
 * @return bool Whether a key was deleted.
 */
function keybridge_delete_key( $name ) {
	try {
		Keybridge_Keys::instance()->delete( $name );
		return true;
	} catch ( Keybridge_Exception $e ) {
		keybridge_log_problem( 'keybridge_delete_key', $name, $e );
		return false;
	}
}

/**
 * Moves an existing option's value into keybridge and leaves only a reference in wp_options;
 * get_option() and update_option() keep working for the plugin that owns it.
 *
 * @param string $option Option name.
 * @return bool Whether the option is protected now.
 */
function keybridge_protect_option( $option ) {
	try {
		Keybridge_Protected_Options::protect( $option );
		return true;
	} catch ( Keybridge_Exception $e ) {
		keybridge_log_problem( 'keybridge_protect_option', Keybridge_Protected_Options::key_name( $option ), $e );
		return false;
	}
}

/**
 * Puts a protected option's value back into wp_options.
 *
 * @param string $option Option name.
 * @return bool Whether the option holds its value again.
 */
function keybridge_unprotect_option( $option ) {
	try {
		Keybridge_Protected_Options::unprotect( $option );
		return true;
	} catch ( Keybridge_Exception $e ) {
		keybridge_log_problem( 'keybridge_unprotect_option', Keybridge_Protected_Options::key_name( $option ), $e );
		return false;
	}
}

/**
 * Logs one line: where, the problem type, its title and the key's name (or its hash for odd
 * names). Never a value, a KEK or the token: exception messages are built without them.
 *
 * @param string              $where Function name.
 * @param string              $name  Key name.
 * @param Keybridge_Exception $e     The problem.
 * @return void
 */
function keybridge_log_problem( $where, $name, Keybridge_Exception $e ) {
	// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- the documented place for this failure.
	error_log( sprintf( 'keybridge: %s(%s) failed: %s: %s', $where, Keybridge_Keys::describe( $name ), $e->problem_type(), $e->getMessage() ) );
}
