<?php
/**
 * The public functions other plugins and themes call.
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
	try {
		$value = Keybridge_Keys::instance()->read( $name );
	} catch ( Keybridge_Exception $e ) {
		keybridge_log_problem( 'keybridge_get_key', $name, $e );
		return null;
	}
	keybridge_count_read( $name, $file );
	return $value;
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
 * At the request's end: puts the reads noted by keybridge_count_read() down to their callers.
 *
 * @return void
 */
function keybridge_count_noted_reads() {
	Keybridge_Usage::count_noted_reads();
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
