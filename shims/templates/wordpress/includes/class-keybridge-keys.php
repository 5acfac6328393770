<?php
/**
 * Reading and writing keys.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Key operations with the KEKs this site holds.
 *
 * Reads fetch the ciphertext (one agent call for any number of names, cached for the agent's
 * own TTL) and open it here with the KEK, so on reads the KEK never leaves PHP. Writes send the
 * KEK the site already holds for the name, so the name keeps its KEK across environments.
 * Names being written are checked here with the agent's own rules (Keybridge_Names) and again
 * by the agent; reads pass names as given (NFC), so keys stored before the rules stay readable.
 */
class Keybridge_Keys {

	/**
	 * Largest value keys.set accepts, in bytes.
	 */
	const MAX_VALUE_BYTES = 65536;

	/**
	 * Names per keys.fetch call (the spec's maxItems).
	 */
	const FETCH_BATCH = 100;

	/**
	 * The instance of this request.
	 *
	 * @var Keybridge_Keys|null
	 */
	private static $instance = null;

	/**
	 * Agent client.
	 *
	 * @var Keybridge_Client
	 */
	private $client;

	/**
	 * Ciphertext cache (APCu or this request).
	 *
	 * @var Keybridge_Ciphertext_Cache
	 */
	private $cache;

	/**
	 * Uses the given client, or the one configured in wp-config.php.
	 *
	 * @param Keybridge_Client|null $client Agent client.
	 * @throws Keybridge_Exception Type `not-configured` without a client or configuration.
	 */
	public function __construct( $client = null ) {
		$this->client = null === $client ? Keybridge_Plugin::client() : $client;
		$this->cache  = new Keybridge_Ciphertext_Cache( self::cache_scope( $this->client ) );
	}

	/**
	 * The instance of this request, with the configured client.
	 *
	 * @return Keybridge_Keys
	 * @throws Keybridge_Exception Type `not-configured` without configuration.
	 */
	public static function instance() {
		if ( null === self::$instance ) {
			self::$instance = new self();
		}
		return self::$instance;
	}

	/**
	 * The value of a key.
	 *
	 * @param string $name Key name.
	 * @return string The value's bytes.
	 * @throws Keybridge_Exception Type `key-not-found` when this site holds no KEK for it or the
	 *                             vault has no value; `kek-mismatch` when the value was set under
	 *                             another KEK; any agent problem type.
	 */
	public function read( $name ) {
		$name = self::normalize( $name );
		$kek  = Keybridge_Keks::get( $name );
		if ( null === $kek ) {
			throw new Keybridge_Exception( 'key-not-found', self::not_found_message( $name ), 404, 'name' );
		}
		$entry = $this->cache->get( $name );
		if ( null !== $entry ) {
			try {
				// The cache hands back every field as a string: open() without open_entry()'s checks.
				return Keybridge_Kb1::open( $entry['ciphertext'], $kek, $entry['site_id'], $entry['environment'], $entry['key_id'], $entry['kek_id'] );
			} catch ( Keybridge_Exception $e ) {
				// The cached ciphertext may predate a rotation or re-set elsewhere: fetch it anew.
				$this->cache->delete( $name );
			}
		}
		$fetched = $this->fetch( array( $name ) );
		if ( ! isset( $fetched[ $name ] ) ) {
			throw new Keybridge_Exception( 'key-not-found', self::not_found_message( $name ), 404, 'name' );
		}
		return Keybridge_Kb1::open_entry( $fetched[ $name ], $kek );
	}

	/**
	 * Fetches the ciphertexts of several keys in as few agent calls as possible, so that the
	 * reads after it cost no call at all. Names without a KEK or already cached are skipped.
	 *
	 * @param string[] $names Key names.
	 * @return void
	 * @throws Keybridge_Exception Any agent problem type.
	 */
	public function prefetch( array $names ) {
		$keks   = Keybridge_Keks::all();
		$wanted = array();
		foreach ( $names as $name ) {
			$name = self::normalize( $name );
			if ( isset( $keks[ $name ] ) ) {
				$wanted[ $name ] = true;
			}
		}
		$cached  = $this->cache->get_many( array_map( 'strval', array_keys( $wanted ) ) );
		$missing = array_diff( array_map( 'strval', array_keys( $wanted ) ), array_map( 'strval', array_keys( $cached ) ) );
		$this->fetch( $missing );
	}

	/**
	 * Fetches ciphertexts from the agent (in batches of 100) and caches them.
	 *
	 * @param string[] $names Key names, normalized.
	 * @return array Name => cache entry for every name found.
	 * @throws Keybridge_Exception Any agent problem type.
	 */
	private function fetch( array $names ) {
		$found = array();
		foreach ( array_chunk( array_values( $names ), self::FETCH_BATCH ) as $batch ) {
			$found += $this->cache->store_fetched( $this->client->keys_fetch( array( 'names' => $batch ) ), $batch );
		}
		return $found;
	}

	/**
	 * Stores a value (any bytes), keeping the KEK this site holds for the name.
	 *
	 * @param string $name  Key name.
	 * @param string $value The value, at most 65536 bytes.
	 * @param string $label Optional label shown in listings.
	 * @return array The agent's answer: name, wrapping_key, version.
	 * @throws Keybridge_Exception Type `invalid-value` for a non-string or too long value; any
	 *                             agent problem type.
	 */
	public function store( $name, $value, $label = '' ) {
		if ( ! is_string( $value ) ) {
			throw new Keybridge_Exception( 'invalid-value', __( 'A key value must be a string.', 'keybridge' ), 0, 'value' );
		}
		if ( strlen( $value ) > self::MAX_VALUE_BYTES ) {
			throw new Keybridge_Exception( 'invalid-value', __( 'A key value may be at most 65536 bytes.', 'keybridge' ), 0, 'value' );
		}
		// value_base64 carries any bytes; the plain `value` field would have to be UTF-8.
		// phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode -- the API's encoding for bytes.
		$body = array( 'value_base64' => base64_encode( $value ) );
		return $this->write( 'keys_set', $name, $body, $label );
	}

	/**
	 * Stores random bytes made by the agent, keeping the KEK this site holds for the name.
	 *
	 * @param string $name  Key name.
	 * @param int    $bits  Size: 64 to 4096, a multiple of 8.
	 * @param string $label Optional label.
	 * @return array The agent's answer: name, wrapping_key, version.
	 * @throws Keybridge_Exception Any agent problem type.
	 */
	public function generate( $name, $bits, $label = '' ) {
		return $this->write( 'keys_generate', $name, array( 'bits' => (int) $bits ), $label );
	}

	/**
	 * Re-wraps a key under a new KEK and keeps the new KEK.
	 *
	 * @param string $name Key name.
	 * @return array The agent's answer: name, wrapping_key, version.
	 * @throws Keybridge_Exception Type `key-not-found` without a KEK; any agent problem type;
	 *                             `storage-failure` when the new KEK cannot be saved (the value
	 *                             is then wrapped under the old one again).
	 */
	public function rotate( $name ) {
		$name = self::normalize( $name );
		$kek  = Keybridge_Keks::get( $name );
		if ( null === $kek ) {
			throw new Keybridge_Exception( 'key-not-found', self::not_found_message( $name ), 404, 'name' );
		}
		$written = $this->client->keys_rotate(
			array(
				'name'         => (string) $name,
				'wrapping_key' => $kek,
			)
		);
		try {
			$this->keep( $name, $written );
		} catch ( Keybridge_Exception $e ) {
			// The vault holds the value under a KEK this site could not save: wrap it under the
			// old KEK again, which the site still holds, so the key stays readable.
			$value = $this->client->keys_get(
				array(
					'name'         => (string) $name,
					'wrapping_key' => $written['wrapping_key'],
				)
			);
			$this->client->keys_set(
				array(
					'name'         => (string) $name,
					'value_base64' => $value['value_base64'],
					'wrapping_key' => $kek,
				)
			);
			throw $e;
		}
		return $written;
	}

	/**
	 * Deletes a key in this environment's vault, then the KEK and the cached ciphertext.
	 *
	 * @param string $name Key name.
	 * @return void
	 * @throws Keybridge_Exception Type `key-not-found` when the vault had no such key (the KEK
	 *                             is dropped all the same: it opens nothing); any other agent
	 *                             problem type (then nothing is dropped).
	 */
	public function delete( $name ) {
		$name = self::normalize( $name );
		try {
			$this->client->keys_delete( array( 'name' => (string) $name ) );
		} catch ( Keybridge_Exception $e ) {
			if ( 'key-not-found' !== $e->problem_type() ) {
				throw $e;
			}
			$this->forget( $name );
			throw $e;
		}
		$this->forget( $name );
	}

	/**
	 * Drops what this site holds for a name: its KEK and cached ciphertext.
	 *
	 * @param string $name Key name.
	 * @return void
	 */
	public function forget( $name ) {
		$name = self::normalize( $name );
		$this->cache->delete( (string) $name );
		Keybridge_Keks::forget( $name );
	}

	/**
	 * Calls keys.set or keys.generate with the held KEK and keeps the KEK returned.
	 *
	 * @param string $method Client method.
	 * @param string $name   Key name.
	 * @param array  $body   Operation-specific fields.
	 * @param string $label  Optional label.
	 * @return array The agent's answer.
	 * @throws Keybridge_Exception Any agent problem type; `storage-failure` when the KEK cannot be saved.
	 */
	private function write( $method, $name, array $body, $label ) {
		// The agent's own rules, checked here first (it checks again, and alone knows the
		// vault's other names: a look-alike of one of them is its `name-confusable`).
		$name         = Keybridge_Names::check_new( $name );
		$body['name'] = (string) $name;
		if ( '' !== (string) $label ) {
			$body['label'] = Keybridge_Names::check_label( (string) $label );
		}
		$kek = Keybridge_Keks::get( $name );
		if ( null !== $kek ) {
			$body['wrapping_key'] = $kek;
		}
		$written = $this->client->$method( $body );
		try {
			$this->keep( $name, $written );
		} catch ( Keybridge_Exception $e ) {
			// A new name whose KEK could not be saved: its value could never be read, so it
			// does not stay in the vault. A known name kept its KEK: nothing to undo.
			if ( null === $kek ) {
				$this->client->keys_delete( array( 'name' => (string) $name ) );
			}
			throw $e;
		}
		return $written;
	}

	/**
	 * Saves the KEK the agent returned and drops the now stale ciphertext.
	 *
	 * @param string $name    Key name as this site uses it.
	 * @param array  $written The agent's answer.
	 * @return void
	 */
	private function keep( $name, array $written ) {
		$this->cache->delete( (string) $name );
		if ( Keybridge_Keks::get( $name ) !== $written['wrapping_key'] ) {
			Keybridge_Keks::put( $name, $written['wrapping_key'] );
		}
	}

	/**
	 * What a read or rotation of a name without a KEK says.
	 *
	 * @param string $name Key name.
	 * @return string
	 */
	private static function not_found_message( $name ) {
		return __( 'No such key on this site.', 'keybridge' ) . ' (' . self::describe( $name ) . ')';
	}

	/**
	 * A name for messages and logs: short names as they are, long or odd ones as a hash.
	 *
	 * @param string $name Key name.
	 * @return string
	 */
	public static function describe( $name ) {
		$name = (string) $name;
		if ( strlen( $name ) <= 64 && 1 === preg_match( '/^[A-Za-z0-9._:\/-]+$/', $name ) ) {
			return $name;
		}
		return 'sha256:' . substr( hash( 'sha256', $name ), 0, 16 );
	}

	/**
	 * What this site's cache entries belong to: two sites (or two blogs of a network) sharing
	 * one APCu never see each other's entries.
	 *
	 * @param Keybridge_Client $client Agent client.
	 * @return string
	 */
	private static function cache_scope( $client ) {
		global $wpdb;
		return hash( 'sha256', ABSPATH . "\0" . $wpdb->prefix . "\0" . $client->agent() );
	}

	/**
	 * The name as the agent keeps it: Unicode NFC (when PHP has intl), so a name typed in
	 * another normal form finds the same KEK and cache entry (Keybridge_Names).
	 *
	 * @param string $name Key name.
	 * @return string
	 */
	private static function normalize( $name ) {
		return Keybridge_Names::normalize( $name );
	}
}
