<?php
/**
 * Keybridge_Ciphertext_Cache: what keys.fetch returned, kept for its TTL.
 *
 * @package Keybridge
 */

/**
 * Keeps the ciphertexts (never values, never KEKs) that keys.fetch returned, with their AAD
 * fields, for the agent's cache_ttl_ms: in APCu when it is enabled (shared by the PHP
 * workers of this host), else in memory for this request.
 *
 * Entries are keyed by the scope (the agent address, or more) and the key name, so two sites
 * sharing one APCu never see each other's entries. Each entry also carries the site id and
 * environment it was fetched under, and is used only while the latest entry written in the
 * same scope reported the same ones: after a move to production (or a new registration) the
 * older entries are misses, not wrong answers.
 *
 * Built for the first secret read of a page, which pays every cold start: cache keys are the
 * scope and the name themselves (no hash to compute), a read is one apcu_fetch() of the entry
 * and the scope's record together, and entries keep the ciphertext's bytes, so a hit decodes
 * no base64 (record()).
 */
final class Keybridge_Ciphertext_Cache {

	/**
	 * Prefix of every APCu key this class writes.
	 */
	const PREFIX = 'keybridge:';

	/**
	 * The per-request store: cache key => record.
	 *
	 * @var array
	 */
	private static $memory = array();

	/**
	 * Records this request already took from APCu: cache key => array( until, record ). A
	 * later read of the same key in the request skips the APCu fetch and the record's parsing.
	 * Ciphertexts and their AAD fields only, as in APCu; any write or delete of this request
	 * empties it, and an entry is used only until its own expiry.
	 *
	 * @var array
	 */
	private static $taken = array();

	/**
	 * Whether this cache uses APCu.
	 *
	 * @var bool
	 */
	private $use_apcu;

	/**
	 * The cache key of the latest site id and environment seen in this scope.
	 *
	 * @var string
	 */
	private $context_key;

	/**
	 * What every entry key of this scope starts with (the name follows).
	 *
	 * @var string
	 */
	private $entry_prefix;

	/**
	 * A cache for one agent.
	 *
	 * @param string    $scope    What entries belong to: the agent address, or anything naming
	 *                            this site and its agent (the WordPress glue joins ABSPATH,
	 *                            the table prefix and the agent address).
	 * @param bool|null $use_apcu Null: APCu when apcu_enabled(); false: per request only.
	 */
	public function __construct( string $scope, $use_apcu = null ) {
		$available      = function_exists( 'apcu_enabled' ) && apcu_enabled();
		$this->use_apcu = null === $use_apcu ? $available : ( $use_apcu && $available );
		// The scope's length first: no scope and name can spell another scope's key.
		$this->context_key  = self::PREFIX . 'c' . strlen( $scope ) . ':' . $scope;
		$this->entry_prefix = self::PREFIX . 'e' . strlen( $scope ) . ':' . $scope;
	}

	/**
	 * Whether entries go to APCu (else they live for this request only).
	 *
	 * @return bool True for APCu.
	 */
	public function uses_apcu(): bool {
		return $this->use_apcu;
	}

	/**
	 * The fresh cached record of one name: the path of every warm read, so it does as little
	 * as it can (one APCu call, no base64, no array built around it).
	 *
	 * @param string $name A key name.
	 * @return string[]|null site_id, environment, key_id, kek_id, version, ciphertext bytes; or null.
	 */
	public function record( string $name ) {
		$key = $this->entry_prefix . $name;
		if ( isset( self::$taken[ $key ] ) && self::$taken[ $key ][0] > microtime( true ) ) {
			return self::$taken[ $key ][1];
		}
		if ( $this->use_apcu ) {
			$both    = apcu_fetch( array( $this->context_key, $key ) );
			$context = isset( $both[ $this->context_key ] ) ? $both[ $this->context_key ] : null;
			$stored  = isset( $both[ $key ] ) ? $both[ $key ] : null;
		} else {
			$context = isset( self::$memory[ $this->context_key ] ) ? self::$memory[ $this->context_key ] : null;
			$stored  = isset( self::$memory[ $key ] ) ? self::$memory[ $key ] : null;
		}
		// Anything else (a miss, an older version's array) is a miss.
		if ( ! is_string( $stored ) || ! is_string( $context ) ) {
			return null;
		}
		// Record: expires_at, site_id, environment, key_id, kek_id, version, bytes (may hold NUL).
		$record = explode( "\0", $stored, 7 );
		$now    = microtime( true );
		if ( 7 !== count( $record ) || (float) $record[0] <= $now ) {
			return null;
		}
		$context = explode( "\0", $context, 3 );
		if ( 3 !== count( $context ) || (float) $context[0] <= $now || $record[1] !== $context[1] || $record[2] !== $context[2] ) {
			return null;
		}
		$until = min( (float) array_shift( $record ), (float) $context[0] );
		if ( $this->use_apcu ) {
			self::$taken[ $key ] = array( $until, $record );
		}
		return $record;
	}

	/**
	 * The cached entries of the names that are cached and fresh.
	 *
	 * @param string[] $names Key names.
	 * @return array Name => entry (name, site_id, environment, key_id, kek_id, ciphertext, version).
	 */
	public function get_many( array $names ): array {
		$hits = array();
		foreach ( $names as $name ) {
			$entry = $this->get( (string) $name );
			if ( null !== $entry ) {
				$hits[ $name ] = $entry;
			}
		}
		return $hits;
	}

	/**
	 * The cached entry of one name, with the ciphertext as "kb1." text.
	 *
	 * @param string $name A key name.
	 * @return array|null The entry, or null on a miss.
	 */
	public function get( string $name ) {
		$record = $this->record( $name );
		if ( null === $record ) {
			return null;
		}
		return array(
			'name'        => $name,
			'site_id'     => $record[0],
			'environment' => $record[1],
			'key_id'      => $record[2],
			'kek_id'      => $record[3],
			'ciphertext'  => Keybridge_Kb1::ciphertext_text( $record[5] ),
			'version'     => (int) $record[4],
		);
	}
	/**
	 * Keeps the found keys of a keys.fetch answer for its cache_ttl_ms.
	 *
	 * @param array    $fetched The keys.fetch answer (site_id, environment, cache_ttl_ms, keys).
	 * @param string[] $names   The names as the caller asked for them, in the same order (the
	 *                          agent may return them normalised); empty: the agent's names.
	 * @return array Name => entry for every found key (what get_many() will return).
	 * @throws Keybridge_Exception Type agent-response-invalid when the answer lacks a field.
	 */
	public function store_fetched( array $fetched, array $names = array() ): array {
		if ( ! isset( $fetched['site_id'], $fetched['environment'], $fetched['cache_ttl_ms'], $fetched['keys'] )
			|| ! is_string( $fetched['site_id'] ) || ! is_string( $fetched['environment'] )
			|| ! is_int( $fetched['cache_ttl_ms'] ) || ! is_array( $fetched['keys'] ) ) {
			throw new Keybridge_Exception( 'agent-response-invalid', 'The keybridge agent answered something that is not its API: keys.fetch without site_id, environment, cache_ttl_ms or keys' );
		}
		$entries = array();
		foreach ( array_values( $fetched['keys'] ) as $index => $key ) {
			if ( ! is_array( $key ) || empty( $key['found'] ) || ! isset( $key['name'], $key['key_id'], $key['ciphertext'] ) ) {
				continue;
			}
			$name             = isset( $names[ $index ] ) ? (string) $names[ $index ] : (string) $key['name'];
			$entries[ $name ] = array(
				'name'        => $name,
				'site_id'     => $fetched['site_id'],
				'environment' => $fetched['environment'],
				'key_id'      => (string) $key['key_id'],
				'kek_id'      => isset( $key['kek_id'] ) ? (string) $key['kek_id'] : '',
				'ciphertext'  => (string) $key['ciphertext'],
				'version'     => isset( $key['version'] ) ? (int) $key['version'] : 0,
			);
			$this->put( $name, $entries[ $name ], $fetched['cache_ttl_ms'] );
		}
		return $entries;
	}

	/**
	 * Keeps one fetched key (the fields keys.fetch gave it, plus its site_id and environment).
	 *
	 * @param string $name        A key name.
	 * @param array  $entry       site_id, environment, key_id, ciphertext; kek_id and version optional.
	 * @param int    $ttl_seconds How long it may be used (the agent's cache_ttl_ms, in seconds).
	 * @throws Keybridge_Exception Type invalid-field when the entry lacks a field.
	 */
	public function set( string $name, array $entry, int $ttl_seconds ) {
		foreach ( array( 'site_id', 'environment', 'key_id', 'ciphertext' ) as $field ) {
			if ( ! isset( $entry[ $field ] ) || ! is_string( $entry[ $field ] ) ) {
				throw new Keybridge_Exception( 'invalid-field', 'A cached key needs its ' . $field, 0, $field );
			}
		}
		$this->put(
			$name,
			array(
				'name'        => $name,
				'site_id'     => $entry['site_id'],
				'environment' => $entry['environment'],
				'key_id'      => $entry['key_id'],
				'kek_id'      => isset( $entry['kek_id'] ) ? (string) $entry['kek_id'] : '',
				'ciphertext'  => $entry['ciphertext'],
				'version'     => isset( $entry['version'] ) ? (int) $entry['version'] : 0,
			),
			$ttl_seconds * 1000
		);
	}

	/**
	 * Drops one name (after the CMS set, rotated or deleted it, or it failed to open).
	 *
	 * @param string $name A key name.
	 */
	public function delete( string $name ) {
		$key = $this->entry_prefix . $name;
		self::forget_taken();
		unset( self::$memory[ $key ] );
		if ( $this->use_apcu ) {
			apcu_delete( $key );
		}
	}

	/**
	 * Empties the per-request store (tests; long-running workers between requests).
	 */
	public static function reset_request_cache() {
		self::$memory = array();
		self::forget_taken();
	}

	/**
	 * Forgets the records this request took, here and in WordPress's class-free read
	 * (keybridge_cached_value(), which keeps its own for the same reason): after a write or a
	 * delete the next read takes the cache's new state.
	 */
	private static function forget_taken() {
		self::$taken = array();
		if ( function_exists( 'keybridge_cached_value' ) ) {
			keybridge_cached_value( null, false );
		}
	}

	/**
	 * Writes an entry and, with it, the site id and environment it was fetched under: entries
	 * of any other site id or environment stop being hits from now on.
	 *
	 * Both are stored as one string of NUL-separated fields, not as arrays: APCu hands a string
	 * back with one copy, where an array is unserialized field by field on every read. The
	 * ciphertext's bytes go last (they may hold any byte); the other fields never hold NUL (the
	 * kb1 AAD forbids it in ids, the rest is base64url or fixed words), and an entry where one
	 * does is simply not cached.
	 *
	 * @param string $name   A key name.
	 * @param array  $entry  The entry (ciphertext and AAD fields only).
	 * @param int    $ttl_ms Time to live in ms; 0 or less stores nothing.
	 */
	private function put( string $name, array $entry, int $ttl_ms ) {
		$fields = array( $entry['site_id'], $entry['environment'], $entry['key_id'], $entry['kek_id'], (string) $entry['version'] );
		if ( $ttl_ms <= 0 || false !== strpos( implode( '', $fields ), "\0" ) ) {
			return;
		}
		try {
			$bytes = Keybridge_Kb1::ciphertext_bytes( $entry['ciphertext'] );
		} catch ( Keybridge_Exception $e ) {
			// Not a kb1 ciphertext: the read that follows reports it; nothing to keep.
			return;
		}
		$expires_at = sprintf( '%.3F', microtime( true ) + $ttl_ms / 1000 );
		$this->write( $this->context_key, $expires_at . "\0" . $entry['site_id'] . "\0" . $entry['environment'], $ttl_ms );
		$this->write( $this->entry_prefix . $name, $expires_at . "\0" . implode( "\0", $fields ) . "\0" . $bytes, $ttl_ms );
	}

	/**
	 * Stores a record for ttl_ms.
	 *
	 * @param string $key    A cache key.
	 * @param string $record What to store (ciphertexts and AAD fields only).
	 * @param int    $ttl_ms Time to live in ms.
	 */
	private function write( string $key, string $record, int $ttl_ms ) {
		self::forget_taken();
		if ( $this->use_apcu ) {
			// APCu counts whole seconds; expires_at inside the record keeps the ms precision.
			apcu_store( $key, $record, (int) ceil( $ttl_ms / 1000 ) );
		} else {
			self::$memory[ $key ] = $record;
		}
	}
}
