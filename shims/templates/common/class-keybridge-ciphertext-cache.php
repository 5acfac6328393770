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
 * Entries are keyed by a hash of the agent address and the key name, so two sites sharing
 * one APCu never see each other's entries. Each entry also carries the site id and
 * environment it was fetched under, and is used only while the latest fetch from the same
 * agent reported the same ones: after a move to production (or a new registration) the
 * older entries are misses, not wrong answers.
 */
final class Keybridge_Ciphertext_Cache {

	/**
	 * Prefix of every APCu key this class writes.
	 */
	const PREFIX = 'keybridge:';

	/**
	 * The per-request store: cache key => entry.
	 *
	 * @var array
	 */
	private static $memory = array();

	/**
	 * The agent address entries belong to.
	 *
	 * @var string
	 */
	private $agent;

	/**
	 * Whether this cache uses APCu.
	 *
	 * @var bool
	 */
	private $use_apcu;

	/**
	 * A cache for one agent.
	 *
	 * @param string    $agent    The agent address (as given to Keybridge_Client).
	 * @param bool|null $use_apcu Null: APCu when apcu_enabled(); false: per request only.
	 */
	public function __construct( string $agent, $use_apcu = null ) {
		$this->agent    = $agent;
		$available      = function_exists( 'apcu_enabled' ) && apcu_enabled();
		$this->use_apcu = null === $use_apcu ? $available : ( $use_apcu && $available );
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
	 * The cached entries of the names that are cached and fresh.
	 *
	 * @param string[] $names Key names.
	 * @return array Name => entry (name, site_id, environment, key_id, kek_id, ciphertext, version).
	 */
	public function get_many( array $names ): array {
		$context = $this->read( $this->context_key() );
		$hits    = array();
		if ( null === $context ) {
			return $hits;
		}
		foreach ( $names as $name ) {
			$entry = $this->read( $this->entry_key( $name ) );
			if ( null !== $entry
				&& $entry['name'] === $name
				&& $entry['site_id'] === $context['site_id']
				&& $entry['environment'] === $context['environment'] ) {
				unset( $entry['expires_at'] );
				$hits[ $name ] = $entry;
			}
		}
		return $hits;
	}

	/**
	 * The cached entry of one name.
	 *
	 * @param string $name A key name.
	 * @return array|null The entry, or null on a miss.
	 */
	public function get( string $name ) {
		$hits = $this->get_many( array( $name ) );
		return isset( $hits[ $name ] ) ? $hits[ $name ] : null;
	}

	/**
	 * Keeps the found keys of a keys.fetch answer for its cache_ttl_ms.
	 *
	 * @param array $fetched The keys.fetch answer (site_id, environment, cache_ttl_ms, keys).
	 * @return array Name => entry for every found key (what get_many() will return).
	 * @throws Keybridge_Exception Type agent-response-invalid when the answer lacks a field.
	 */
	public function store_fetched( array $fetched ): array {
		if ( ! isset( $fetched['site_id'], $fetched['environment'], $fetched['cache_ttl_ms'], $fetched['keys'] )
			|| ! is_string( $fetched['site_id'] ) || ! is_string( $fetched['environment'] )
			|| ! is_int( $fetched['cache_ttl_ms'] ) || ! is_array( $fetched['keys'] ) ) {
			throw new Keybridge_Exception( 'agent-response-invalid', 'The keybridge agent answered something that is not its API: keys.fetch without site_id, environment, cache_ttl_ms or keys' );
		}
		$ttl_ms     = $fetched['cache_ttl_ms'];
		$expires_at = microtime( true ) + $ttl_ms / 1000;
		$context    = array(
			'site_id'     => $fetched['site_id'],
			'environment' => $fetched['environment'],
			'expires_at'  => $expires_at,
		);
		$entries    = array();
		foreach ( $fetched['keys'] as $key ) {
			if ( ! is_array( $key ) || empty( $key['found'] ) || ! isset( $key['name'], $key['key_id'], $key['ciphertext'] ) ) {
				continue;
			}
			$entries[ $key['name'] ] = array(
				'name'        => (string) $key['name'],
				'site_id'     => $fetched['site_id'],
				'environment' => $fetched['environment'],
				'key_id'      => (string) $key['key_id'],
				'kek_id'      => isset( $key['kek_id'] ) ? (string) $key['kek_id'] : '',
				'ciphertext'  => (string) $key['ciphertext'],
				'version'     => isset( $key['version'] ) ? (int) $key['version'] : 0,
			);
		}
		if ( $ttl_ms > 0 ) {
			$this->write( $this->context_key(), $context, $ttl_ms );
			foreach ( $entries as $name => $entry ) {
				$this->write( $this->entry_key( $name ), $entry + array( 'expires_at' => $expires_at ), $ttl_ms );
			}
		}
		return $entries;
	}

	/**
	 * Drops one name (after the CMS set, rotated or deleted it).
	 *
	 * @param string $name A key name.
	 */
	public function forget( string $name ) {
		$key = $this->entry_key( $name );
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
	}

	/**
	 * The cache key of one name at this agent.
	 *
	 * @param string $name A key name.
	 * @return string The key.
	 */
	private function entry_key( string $name ): string {
		return self::PREFIX . hash( 'sha256', $this->agent . "\0" . $name );
	}

	/**
	 * The cache key of the latest site id and environment seen at this agent.
	 *
	 * @return string The key.
	 */
	private function context_key(): string {
		return self::PREFIX . 'context:' . hash( 'sha256', $this->agent );
	}

	/**
	 * A fresh stored array, or null.
	 *
	 * @param string $key A cache key.
	 * @return array|null The stored array.
	 */
	private function read( string $key ) {
		if ( $this->use_apcu ) {
			$success = false;
			$stored  = apcu_fetch( $key, $success );
			$stored  = $success ? $stored : null;
		} else {
			$stored = isset( self::$memory[ $key ] ) ? self::$memory[ $key ] : null;
		}
		if ( ! is_array( $stored ) || ! isset( $stored['expires_at'] ) || $stored['expires_at'] <= microtime( true ) ) {
			return null;
		}
		return $stored;
	}

	/**
	 * Stores an array for ttl_ms.
	 *
	 * @param string $key    A cache key.
	 * @param array  $value  What to store (ciphertexts and AAD fields only).
	 * @param int    $ttl_ms Time to live in ms.
	 */
	private function write( string $key, array $value, int $ttl_ms ) {
		if ( $this->use_apcu ) {
			// APCu counts whole seconds; expires_at inside the entry keeps the ms precision.
			apcu_store( $key, $value, (int) ceil( $ttl_ms / 1000 ) );
		} else {
			self::$memory[ $key ] = $value;
		}
	}
}
