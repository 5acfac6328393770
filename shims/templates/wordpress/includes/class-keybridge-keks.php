<?php
/**
 * The wrapping keys (KEKs) this site holds.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Every KEK in ONE autoloaded option, `keybridge_keks` (key name => `kb1$…`).
 *
 * A KEK alone reveals nothing: the ciphertext it opens lives in the key service, reached only
 * with the client certificate outside the webroot. Autoloading the option makes reading a KEK
 * free on every request, where a non-autoloaded option would cost one query per secret read
 * (DESIGN.md, "Performance budget").
 */
class Keybridge_Keks {

	const OPTION = 'keybridge_keks';

	/**
	 * How long a writer waits for another request's write to finish, in seconds.
	 */
	const LOCK_TIMEOUT = 5;

	/**
	 * The option row's text that self::$loaded was decoded from (null: nothing decoded yet).
	 *
	 * @var string|null
	 */
	private static $loaded_row = null;

	/**
	 * The decoded map of self::$loaded_row.
	 *
	 * @var array<string, string>
	 */
	private static $loaded = array();

	/**
	 * All KEKs, name => KEK string.
	 *
	 * @return array<string, string>
	 */
	public static function all() {
		// The autoloaded row as WordPress loaded it: unserializing it on every read would cost
		// more than the rest of a cached read, so the map is kept for as long as the row's text
		// stays the same (in this request's memory only). Comparing the text also notices
		// writes by other requests once WordPress reloads its options (wp_cache_flush()).
		// wp_load_alloptions() without its filter when WordPress has the options loaded already
		// (every request has by the time a plugin reads a key): one cache lookup.
		$alloptions = wp_cache_get( 'alloptions', 'options' );
		if ( ! is_array( $alloptions ) ) {
			$alloptions = wp_load_alloptions();
		}
		if ( ! isset( $alloptions[ self::OPTION ] ) || ! is_string( $alloptions[ self::OPTION ] ) ) {
			// Not (or not yet) an autoloaded row: WordPress's own path.
			$keks = get_option( self::OPTION, array() );
			return is_array( $keks ) ? $keks : array();
		}
		if ( $alloptions[ self::OPTION ] !== self::$loaded_row ) {
			$keks             = maybe_unserialize( $alloptions[ self::OPTION ] );
			self::$loaded     = is_array( $keks ) ? $keks : array();
			self::$loaded_row = $alloptions[ self::OPTION ];
		}
		return self::$loaded;
	}

	/**
	 * The KEK held for a name, or null.
	 *
	 * The first read of a page asks for one KEK: rather than unserializing the whole map (it
	 * grows with every key), the KEK is picked out of the autoloaded row's serialized text,
	 * where `s:<length>:"<name>";s:47:"kb1$…";` stands for the pair. Names with a double quote,
	 * numeric names (serialized as integers) and any doubt fall back to the decoded map.
	 *
	 * @param string $name Key name.
	 * @return string|null
	 */
	public static function get( $name ) {
		$name       = (string) $name;
		$alloptions = wp_cache_get( 'alloptions', 'options' );
		$kek        = isset( $alloptions[ self::OPTION ] ) ? keybridge_kek_in_row( $alloptions[ self::OPTION ], $name ) : null;
		if ( null !== $kek ) {
			return $kek;
		}
		$keks = self::all();
		return isset( $keks[ $name ] ) && is_string( $keks[ $name ] ) ? $keks[ $name ] : null;
	}

	/**
	 * The names that have a KEK.
	 *
	 * @return string[]
	 */
	public static function names() {
		// PHP turns numeric string keys into integers; names are always strings.
		return array_map( 'strval', array_keys( self::all() ) );
	}

	/**
	 * Keeps the KEK for a name (other names stay as they are).
	 *
	 * @param string $name Key name.
	 * @param string $kek  KEK string as the agent returned it.
	 * @return void
	 * @throws Keybridge_Exception Type `storage-failure` when the option cannot be written.
	 */
	public static function put( $name, $kek ) {
		self::change(
			static function ( array $keks ) use ( $name, $kek ) {
				$keks[ $name ] = $kek;
				return $keks;
			}
		);
	}

	/**
	 * Drops the KEK for a name (other names stay as they are).
	 *
	 * @param string $name Key name.
	 * @return void
	 * @throws Keybridge_Exception Type `storage-failure` when the option cannot be written.
	 */
	public static function forget( $name ) {
		self::change(
			static function ( array $keks ) use ( $name ) {
				unset( $keks[ $name ] );
				return $keks;
			}
		);
	}

	/**
	 * Read, change and write the option under a database lock.
	 *
	 * A lost KEK means a lost value, so two requests saving different keys at the same time
	 * must not overwrite each other's KEK: the write holds a MySQL named lock and starts from
	 * the row as it is in the database, not from this request's (possibly stale) cache.
	 *
	 * @param callable $change Gets the current map, returns the new one.
	 * @return void
	 * @throws Keybridge_Exception Type `storage-failure` when the option cannot be written.
	 */
	private static function change( callable $change ) {
		global $wpdb;
		$lock = $wpdb->prefix . self::OPTION;
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery -- a lock, not data: nothing to cache.
		$answer = $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK( %s, %d )', $lock, self::LOCK_TIMEOUT ) );
		// '1': locked; '0': another request held it for the whole timeout; null: a database
		// without named locks (e.g. SQLite drop-ins), where writes go on unlocked.
		$locked = null !== $answer && '1' === (string) $answer;
		try {
			if ( null !== $answer && ! $locked ) {
				throw new Keybridge_Exception( 'storage-failure', __( 'Another request is saving keybridge wrapping keys; try again.', 'keybridge' ) );
			}
			$before = self::stored();
			$after  = $change( $before );
			if ( $after === $before ) {
				return;
			}
			wp_cache_delete( 'alloptions', 'options' );
			wp_cache_delete( self::OPTION, 'options' );
			if ( ! update_option( self::OPTION, $after, true ) && self::stored() !== $after ) {
				throw new Keybridge_Exception( 'storage-failure', __( 'The keybridge wrapping keys could not be saved in the database.', 'keybridge' ) );
			}
		} finally {
			if ( $locked ) {
				// phpcs:ignore WordPress.DB.DirectDatabaseQuery -- releases the lock taken above.
				$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK( %s )', $lock ) );
			}
		}
	}

	/**
	 * The map as stored in the database right now (bypassing the object cache).
	 *
	 * @return array<string, string>
	 * @throws Keybridge_Exception Type `storage-failure` when the row holds something else: it
	 *                             is left alone rather than overwritten (it may hold KEKs).
	 */
	private static function stored() {
		global $wpdb;
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery -- must bypass the cache to merge with other writers.
		$row = $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", self::OPTION ) );
		if ( null === $row ) {
			return array();
		}
		$keks = maybe_unserialize( $row );
		if ( ! is_array( $keks ) ) {
			throw new Keybridge_Exception( 'storage-failure', __( 'The keybridge_keks option does not hold a list of wrapping keys; restore it from a backup before saving keys.', 'keybridge' ) );
		}
		return $keks;
	}
}
