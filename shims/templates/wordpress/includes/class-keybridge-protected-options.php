<?php
/**
 * Options whose values live in keybridge.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Protected options: the value of an ordinary option (say an SMTP plugin's `smtp_password`)
 * moves into keybridge under the key `wp-option:<option>`; its wp_options row keeps only a
 * reference. The plugin that owns the option is not changed: its get_option() and
 * update_option() calls go through the filters below.
 *
 * The value is kept in keybridge exactly as WordPress would write it to the row
 * (maybe_serialize), so arrays, objects and strings come back as they were.
 */
class Keybridge_Protected_Options {

	/**
	 * Option listing the protected options: option name => type of its value when last written.
	 */
	const OPTION = 'keybridge_protected_options';

	/**
	 * What the wp_options row holds instead of the value: this, then `:` and the key's version
	 * in keybridge. The version makes every save change the row, so update_option() reports
	 * a changed value as updated (WordPress returns false when MySQL changes no row).
	 */
	const REFERENCE = 'keybridge:ref:v1';

	/**
	 * Key names of protected options start with this.
	 */
	const KEY_PREFIX = 'wp-option:';

	/**
	 * Options WordPress needs before it could reach keybridge, or on every request: protecting
	 * one would make the site depend on the agent to start at all.
	 */
	const REFUSED = array( 'siteurl', 'home', 'active_plugins', 'template', 'stylesheet', 'cron', 'rewrite_rules', 'db_version', 'WPLANG', 'blog_charset', 'permalink_structure' );

	/**
	 * The sites whose protected options' ciphertexts this request has fetched (site id => true).
	 *
	 * @var array<int, bool>
	 */
	private static $prefetched = array();

	/**
	 * The names of the protected options.
	 *
	 * @return string[]
	 */
	public static function names() {
		return array_map( 'strval', array_keys( self::all() ) );
	}

	/**
	 * Whether an option is protected.
	 *
	 * @param string $option Option name.
	 * @return bool
	 */
	public static function is_protected( $option ) {
		return array_key_exists( (string) $option, self::all() );
	}

	/**
	 * The keybridge key name that holds an option's value.
	 *
	 * @param string $option Option name.
	 * @return string
	 */
	public static function key_name( $option ) {
		return self::KEY_PREFIX . $option;
	}

	/**
	 * Hooks every protected option (called when the plugin loads).
	 *
	 * @return void
	 */
	public static function hook_all() {
		foreach ( self::names() as $option ) {
			self::hook( $option );
		}
	}

	/**
	 * Moves an existing option's value into keybridge and leaves the reference in its row.
	 *
	 * @param string $option Option name.
	 * @return void
	 * @throws Keybridge_Exception Type `invalid-field` when there is no such option; any
	 *                             problem of storing the value (then the row is unchanged).
	 */
	public static function protect( $option ) {
		$option = trim( (string) $option );
		if ( in_array( $option, array( self::OPTION, Keybridge_Keks::OPTION, Keybridge_Constants::OPTION, Keybridge_Usage::ACCESS_OPTION, Keybridge_Usage::OPTION ), true ) ) {
			// keybridge's own options must be readable without keybridge to reach keybridge at all.
			/* translators: %s: option name. */
			throw new Keybridge_Exception( 'invalid-field', sprintf( __( 'The option "%s" belongs to keybridge itself and cannot be protected.', 'keybridge' ), $option ), 0, 'option' );
		}
		if ( in_array( $option, self::REFUSED, true ) || ( isset( $GLOBALS['wpdb'] ) && $GLOBALS['wpdb']->prefix . 'user_roles' === $option ) ) {
			/* translators: %s: option name. */
			throw new Keybridge_Exception( 'invalid-field', sprintf( __( 'WordPress reads "%s" on every request before it could ask keybridge: it cannot be protected.', 'keybridge' ), $option ), 0, 'option' );
		}
		$raw = self::raw_value( $option );
		if ( null === $raw ) {
			/* translators: %s: option name. */
			throw new Keybridge_Exception( 'invalid-field', sprintf( __( 'There is no option named "%s" to protect.', 'keybridge' ), $option ), 0, 'option' );
		}
		if ( ! self::is_reference( $raw ) ) {
			// The value first: if storing fails, the row still holds it and nothing is lost.
			$written = Keybridge_Keys::instance()->store( self::key_name( $option ), $raw );
			self::write_row( $option, self::reference( $written ) );
		}
		self::remember( $option, gettype( maybe_unserialize( $raw ) ) );
		self::hook( $option );
	}

	/**
	 * Puts a protected option's value back into its row and stops protecting it. The key in
	 * keybridge is deleted afterwards (the row holds the value again) unless told otherwise.
	 *
	 * @param string $option     Option name.
	 * @param bool   $delete_key Whether to delete the key in the vault once the row is back.
	 * @return void
	 * @throws Keybridge_Exception When the value cannot be read from keybridge (then the
	 *                             option stays protected and nothing changes).
	 */
	public static function unprotect( $option, $delete_key = true ) {
		$option = trim( (string) $option );
		$raw    = self::raw_value( $option );
		if ( self::is_reference( $raw ) ) {
			self::write_row( $option, Keybridge_Keys::instance()->read( self::key_name( $option ) ) );
		}
		self::unhook( $option );
		self::forget( $option );
		if ( ! $delete_key ) {
			return;
		}
		try {
			Keybridge_Keys::instance()->delete( self::key_name( $option ) );
		} catch ( Keybridge_Exception $e ) {
			// The value is back in the row; a key left behind only costs space in the vault.
			keybridge_log_problem( 'keybridge_unprotect_option', self::key_name( $option ), $e );
		}
	}

	/**
	 * Filter `option_{$option}`: swaps the reference for the value.
	 *
	 * Why this filter and not `pre_option_{$option}`: it runs only when the row exists and
	 * after WordPress has read it, so a missing option still behaves as missing (add_option's
	 * existence check works), the object cache keeps only the reference (never the plaintext),
	 * and on a failure it can return false, which pre_option cannot (false means "go on").
	 *
	 * On a failure (agent down, key deleted) it returns what a plugin gets for an option that
	 * was never saved: false, or an empty array for an option that held an array (so code
	 * such as `array_merge( $defaults, get_option( … ) )` does not fail with a TypeError).
	 * Every plugin already handles that state (its first run, before configuration); handing
	 * it the reference string instead would make it send "keybridge:ref:v1" as a password.
	 *
	 * @param mixed  $value  The value WordPress read from the row.
	 * @param string $option Option name.
	 * @return mixed
	 */
	public static function filter_value( $value, $option ) {
		if ( ! self::is_reference( $value ) ) {
			return $value;
		}
		$key = self::key_name( $option );
		// The common case as keybridge_get_key() has it: no allow lists (the option named as
		// there: Keybridge_Usage::ACCESS_OPTION would load that class), the value cached. It
		// loads no class; the read is put down to its caller at the request's end.
		$alloptions = wp_cache_get( 'alloptions', 'options' );
		if ( ! isset( $alloptions['keybridge_key_access'] ) ) {
			$cached = keybridge_cached_value( $key, $alloptions );
			if ( null !== $cached ) {
				keybridge_count_read( $key, keybridge_file_calling( 'get_option', 8 ) );
				return maybe_unserialize( $cached );
			}
		}
		// The plugin that called get_option() (filters and WordPress's own frames sit in between).
		$caller = Keybridge_Usage::caller_of_call( 'get_option', 8 );
		try {
			if ( ! Keybridge_Usage::permit( $key, $caller ) ) {
				return self::unread( $option );
			}
			$keys = Keybridge_Keys::instance();
			self::prefetch_once( $keys );
			$value = maybe_unserialize( $keys->read( $key ) );
			Keybridge_Usage::record( $key, $caller );
			return $value;
		} catch ( Keybridge_Exception $e ) {
			keybridge_log_problem( 'get_option', $key, $e );
			return self::unread( $option );
		}
	}

	/**
	 * What a protected option reads as when its value cannot be had: false, or an empty array
	 * for an option that held an array (see filter_value()).
	 *
	 * @param string $option Option name.
	 * @return array|false
	 */
	private static function unread( $option ) {
		$types = self::all();
		return isset( $types[ $option ] ) && 'array' === $types[ $option ] ? array() : false;
	}

	/**
	 * On the first protected option a request reads, fetches the ciphertexts of all of them in
	 * one agent call (those already cached cost nothing), so a page reading several protected
	 * options pays for one round trip at most.
	 *
	 * @param Keybridge_Keys $keys Key operations.
	 * @return void
	 * @throws Keybridge_Exception Any agent problem type.
	 */
	private static function prefetch_once( Keybridge_Keys $keys ) {
		$site = get_current_blog_id();
		if ( isset( self::$prefetched[ $site ] ) ) {
			return;
		}
		self::$prefetched[ $site ] = true;
		$keys->prefetch( array_map( array( __CLASS__, 'key_name' ), self::names() ) );
	}

	/**
	 * Filter `pre_update_option_{$option}`: stores the new value in keybridge and hands
	 * WordPress the reference to write, so the row never holds the secret.
	 *
	 * When the value cannot be stored, the old value is returned: WordPress then sees no
	 * change and update_option() returns false, as for any failed save, and the row keeps
	 * the reference (never the new secret).
	 *
	 * @param mixed  $value     New value.
	 * @param mixed  $old_value Current value (already read through filter_value()).
	 * @param string $option    Option name.
	 * @return mixed
	 */
	public static function filter_update( $value, $old_value, $option ) {
		if ( self::is_reference( $value ) || maybe_serialize( $value ) === maybe_serialize( $old_value ) ) {
			return $value;
		}
		try {
			$written = Keybridge_Keys::instance()->store( self::key_name( $option ), self::stored_form( $value ) );
		} catch ( Keybridge_Exception $e ) {
			keybridge_log_problem( 'update_option', self::key_name( $option ), $e );
			return $old_value;
		}
		self::remember( $option, gettype( $value ) );
		return self::reference( $written );
	}

	/**
	 * Filter `sanitize_option_{$option}` (last): when a protected option is added anew
	 * (add_option() after delete_option()), stores the value and hands WordPress the
	 * reference. Updates of an existing row pass through here untouched and are handled by
	 * filter_update(), which knows the old value.
	 *
	 * @param mixed  $value  Value being saved.
	 * @param string $option Option name.
	 * @return mixed
	 */
	public static function filter_add( $value, $option ) {
		if ( self::is_reference( $value ) || null !== self::raw_value( $option ) ) {
			return $value;
		}
		try {
			$written = Keybridge_Keys::instance()->store( self::key_name( $option ), self::stored_form( $value ) );
		} catch ( Keybridge_Exception $e ) {
			// Refuse rather than write the secret into the row: WordPress then adds the reference
			// with no value behind it, which reads as a missing option (see filter_value()).
			keybridge_log_problem( 'add_option', self::key_name( $option ), $e );
			return self::REFERENCE;
		}
		self::remember( $option, gettype( $value ) );
		return self::reference( $written );
	}

	/**
	 * Action `delete_option_{$option}` (after the row is gone): the value goes too, as it
	 * would for an ordinary option. The option stays protected for a later add_option().
	 *
	 * @param string $option Option name.
	 * @return void
	 */
	public static function after_delete( $option ) {
		try {
			Keybridge_Keys::instance()->delete( self::key_name( $option ) );
		} catch ( Keybridge_Exception $e ) {
			if ( 'key-not-found' !== $e->problem_type() ) {
				keybridge_log_problem( 'delete_option', self::key_name( $option ), $e );
			}
		}
	}

	/**
	 * Whether a row value is a reference (rather than a value).
	 *
	 * @param mixed $value Row value.
	 * @return bool
	 */
	public static function is_reference( $value ) {
		return is_string( $value ) && ( self::REFERENCE === $value || 0 === strpos( $value, self::REFERENCE . ':' ) );
	}

	/**
	 * The reference for a value keybridge has just stored.
	 *
	 * @param array $written keys.set's answer.
	 * @return string
	 */
	private static function reference( array $written ) {
		return self::REFERENCE . ':' . (int) $written['version'];
	}

	/**
	 * The string WordPress would write to the row for a value: maybe_serialize(), and scalars
	 * as MySQL stores them (5 → '5', true → '1', false and null → ''), so reads give back what
	 * an unprotected option would.
	 *
	 * @param mixed $value Option value.
	 * @return string
	 */
	private static function stored_form( $value ) {
		return (string) maybe_serialize( $value );
	}

	/**
	 * Adds the filters for one option.
	 *
	 * @param string $option Option name.
	 * @return void
	 */
	private static function hook( $option ) {
		add_filter( "option_{$option}", array( __CLASS__, 'filter_value' ), 10, 2 );
		add_filter( "pre_update_option_{$option}", array( __CLASS__, 'filter_update' ), PHP_INT_MAX, 3 );
		add_filter( "sanitize_option_{$option}", array( __CLASS__, 'filter_add' ), PHP_INT_MAX, 2 );
		add_action( "delete_option_{$option}", array( __CLASS__, 'after_delete' ) );
	}

	/**
	 * Removes the filters for one option.
	 *
	 * @param string $option Option name.
	 * @return void
	 */
	private static function unhook( $option ) {
		remove_filter( "option_{$option}", array( __CLASS__, 'filter_value' ), 10 );
		remove_filter( "pre_update_option_{$option}", array( __CLASS__, 'filter_update' ), PHP_INT_MAX );
		remove_filter( "sanitize_option_{$option}", array( __CLASS__, 'filter_add' ), PHP_INT_MAX );
		remove_action( "delete_option_{$option}", array( __CLASS__, 'after_delete' ) );
	}

	/**
	 * Protected options and the type of each one's value.
	 *
	 * @return array<string, string>
	 */
	private static function all() {
		// Read from the autoloaded options only: get_option() of an option that does not exist
		// yet (no option protected so far) would cost every request a database query. The list
		// is always written autoloaded (remember(), forget()).
		$alloptions = wp_load_alloptions();
		if ( ! isset( $alloptions[ self::OPTION ] ) ) {
			return array();
		}
		$list = maybe_unserialize( $alloptions[ self::OPTION ] );
		return is_array( $list ) ? $list : array();
	}

	/**
	 * Records an option (and the type of its value) in the list.
	 *
	 * @param string $option Option name.
	 * @param string $type   gettype() of the value.
	 * @return void
	 */
	private static function remember( $option, $type ) {
		$list = self::all();
		if ( ! isset( $list[ $option ] ) || $list[ $option ] !== $type ) {
			$list[ $option ] = $type;
			update_option( self::OPTION, $list, true );
		}
	}

	/**
	 * Removes an option from the list.
	 *
	 * @param string $option Option name.
	 * @return void
	 */
	private static function forget( $option ) {
		$list = self::all();
		if ( array_key_exists( $option, $list ) ) {
			unset( $list[ $option ] );
			update_option( self::OPTION, $list, true );
		}
	}

	/**
	 * The row's option_value as stored (serialized), or null when there is no row.
	 *
	 * @param string $option Option name.
	 * @return string|null
	 */
	private static function raw_value( $option ) {
		global $wpdb;
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery -- the stored form, past every filter and cache.
		return $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", $option ) );
	}

	/**
	 * Writes a row's option_value as given (no filters, no sanitizing) and drops the cached copies.
	 *
	 * @param string $option Option name.
	 * @param string $raw    Serialized value to store.
	 * @return void
	 * @throws Keybridge_Exception Type `storage-failure` when the database refuses the write.
	 */
	private static function write_row( $option, $raw ) {
		global $wpdb;
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery -- writes the exact stored form; caches are cleared below.
		$result = $wpdb->update( $wpdb->options, array( 'option_value' => $raw ), array( 'option_name' => $option ) );
		wp_cache_delete( $option, 'options' );
		wp_cache_delete( 'alloptions', 'options' );
		if ( false === $result ) {
			throw new Keybridge_Exception( 'storage-failure', __( 'The option row could not be written.', 'keybridge' ) );
		}
	}
}
