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
 * On a network every name goes to the agent under the site's prefix (Keybridge_Site_Names).
 *
 * keybridge_get_key()'s warm read (ciphertext in APCu) does not reach this class at all
 * (keybridge_cached_value()); here a warm read still touches no agent client: the client is
 * made on the first call that needs the agent. For the same reason no constant of this class refers to
 * Keybridge_Spec: PHP resolves a class's constants when it makes its first object, which
 * loaded the spec (20 kB of arrays) into every page that read a key; the limits are read
 * where a write or a fetch uses them (ReadPathTest holds the read path's classes).
 */
class Keybridge_Keys {

	/**
	 * The instances of this request, one per site (switch_to_blog() changes the site).
	 *
	 * @var Keybridge_Keys[]
	 */
	private static $instances = array();

	/**
	 * Agent client (null until a call needs it).
	 *
	 * @var Keybridge_Client|null
	 */
	private $client;

	/**
	 * Ciphertext cache (APCu or this request).
	 *
	 * @var Keybridge_Ciphertext_Cache
	 */
	private $cache;

	/**
	 * Uses the given client, or the one configured in wp-config.php once a call needs it.
	 *
	 * @param Keybridge_Client|null $client Agent client.
	 */
	public function __construct( $client = null ) {
		$this->client = $client;
		// The constant rather than Keybridge_Plugin::agent_address(): one class less to load on a warm read.
		$agent       = defined( 'KEYBRIDGE_AGENT' ) && is_string( KEYBRIDGE_AGENT ) ? KEYBRIDGE_AGENT : '';
		$this->cache = new Keybridge_Ciphertext_Cache( self::cache_scope( null === $client ? $agent : $client->agent() ) );
	}

	/**
	 * The instance of this request for the current site, with the configured client.
	 *
	 * @return Keybridge_Keys
	 */
	public static function instance() {
		$site = get_current_blog_id();
		if ( ! isset( self::$instances[ $site ] ) ) {
			self::$instances[ $site ] = new self();
		}
		return self::$instances[ $site ];
	}

	/**
	 * The agent client, made on first use.
	 *
	 * @return Keybridge_Client
	 * @throws Keybridge_Exception Type `not-configured` without configuration.
	 */
	private function client() {
		if ( null === $this->client ) {
			$this->client = Keybridge_Plugin::client();
		}
		return $this->client;
	}

	/**
	 * The value of a key.
	 *
	 * @param string $name  Key name.
	 * @param bool   $fetch Whether a cache miss asks the agent (false: a miss is `agent-unreachable`,
	 *                      for callers whose one batched fetch just failed).
	 * @return string The value's bytes.
	 * @throws Keybridge_Exception Type `key-not-found` when this site holds no KEK for it or the
	 *                             vault has no value; `kek-mismatch` when the value was set under
	 *                             another KEK; any agent problem type.
	 */
	public function read( $name, $fetch = true ) {
		$name = self::normalize( $name );
		$kek  = Keybridge_Keks::get( $name );
		if ( null === $kek ) {
			throw new Keybridge_Exception( 'key-not-found', self::not_found_message( $name ), 404, 'name' );
		}
		$record = $this->cache->record( $name );
		if ( null !== $record ) {
			try {
				return Keybridge_Kb1::open_raw( $record[5], $kek, $record[0], $record[1], $record[2], $record[3] );
			} catch ( Keybridge_Exception $e ) {
				// The cached ciphertext may predate a rotation or re-set elsewhere: fetch it anew.
				$this->cache->delete( $name );
			}
		}
		if ( ! $fetch ) {
			throw new Keybridge_Exception( 'agent-unreachable', Keybridge_Spec::CLIENT_PROBLEM_TYPES['agent-unreachable'] . ' (' . self::describe( $name ) . ' is not cached)' );
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
		$missing = array();
		foreach ( array_keys( $wanted ) as $name ) {
			if ( null === $this->cache->record( (string) $name ) ) {
				$missing[] = (string) $name;
			}
		}
		if ( array() !== $missing ) {
			$this->fetch( $missing );
		}
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
		foreach ( array_chunk( array_values( $names ), Keybridge_Spec::LIMITS['fetch_names'] ) as $batch ) {
			$asked  = array_map( array( 'Keybridge_Site_Names', 'to_agent' ), $batch );
			$found += $this->cache->store_fetched( $this->client()->keys_fetch( array( 'names' => $asked ) ), $batch );
		}
		return $found;
	}

	/**
	 * Every key of this site that the agent lists, page after page (for WP-CLI).
	 *
	 * @return array The agent's keys.list answer (environment, keys) with all of this site's keys.
	 * @throws Keybridge_Exception Any agent problem type.
	 */
	public function listed_all() {
		$query = array( 'limit' => 1000 );
		$all   = null;
		do {
			$page = $this->listed( $query );
			if ( null === $all ) {
				$all = array(
					'environment' => $page['environment'],
					'keys'        => array(),
				);
			}
			$all['keys'] = array_merge( $all['keys'], $page['keys'] );
			$query       = isset( $page['next_cursor'] ) ? array(
				'limit'  => 1000,
				'cursor' => $page['next_cursor'],
			) : null;
		} while ( null !== $query );
		return $all;
	}

	/**
	 * One page of the keys of this site that the agent lists: on a network only the current
	 * site's, under the names the site uses. The agent's `next_cursor` passes through as it is
	 * (on a network a page may hold fewer of this site's keys than `limit`, or none).
	 *
	 * @param array $query keys.list query parameters: limit (1 to 1000, default 100), cursor.
	 * @return array The agent's keys.list answer (environment, keys, next_cursor while more
	 *               follow) with this site's keys only.
	 * @throws Keybridge_Exception Any agent problem type.
	 */
	public function listed( array $query = array() ) {
		$answer = $this->client()->keys_list( $query );
		$keys   = array();
		foreach ( $answer['keys'] as $key ) {
			$name = Keybridge_Site_Names::from_agent( $key['name'] );
			if ( null !== $name ) {
				$key['name'] = $name;
				$keys[]      = $key;
			}
		}
		$answer['keys'] = $keys;
		return $answer;
	}

	/**
	 * Stores a value (any bytes), keeping the KEK this site holds for the name.
	 *
	 * @param string $name  Key name.
	 * @param string $value The value, at most Keybridge_Spec::LIMITS['value_bytes'] bytes.
	 * @param string $label Optional label shown in listings.
	 * @return array The agent's answer: name, wrapping_key, version.
	 * @throws Keybridge_Exception Type `invalid-value` for a non-string or too long value; any
	 *                             agent problem type.
	 */
	public function store( $name, $value, $label = '' ) {
		if ( ! is_string( $value ) ) {
			throw new Keybridge_Exception( 'invalid-value', __( 'A key value must be a string.', 'keybridge' ), 0, 'value' );
		}
		if ( strlen( $value ) > Keybridge_Spec::LIMITS['value_bytes'] ) {
			/* translators: %d: the largest value in bytes. */
			throw new Keybridge_Exception( 'invalid-value', sprintf( __( 'A key value may be at most %d bytes.', 'keybridge' ), Keybridge_Spec::LIMITS['value_bytes'] ), 0, 'value' );
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
	 * @param int    $bits  Size: a multiple of 8 within Keybridge_Spec::LIMITS generate_min_bits and generate_max_bits.
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
		$written = $this->client()->keys_rotate(
			array(
				'name'         => Keybridge_Site_Names::to_agent( $name ),
				'wrapping_key' => $kek,
			)
		);
		try {
			$this->keep( $name, $written );
		} catch ( Keybridge_Exception $e ) {
			// The vault holds the value under a KEK this site could not save: wrap it under the
			// old KEK again, which the site still holds, so the key stays readable.
			$value = $this->client()->keys_get(
				array(
					'name'         => Keybridge_Site_Names::to_agent( $name ),
					'wrapping_key' => $written['wrapping_key'],
				)
			);
			$this->client()->keys_set(
				array(
					'name'         => Keybridge_Site_Names::to_agent( $name ),
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
			$this->client()->keys_delete( array( 'name' => Keybridge_Site_Names::to_agent( $name ) ) );
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
		$body['name'] = Keybridge_Site_Names::to_agent( $name );
		if ( '' !== (string) $label ) {
			$body['label'] = Keybridge_Names::check_label( (string) $label );
		}
		$kek = Keybridge_Keks::get( $name );
		if ( null !== $kek ) {
			$body['wrapping_key'] = $kek;
		}
		$written = $this->client()->$method( $body );
		try {
			$this->keep( $name, $written );
		} catch ( Keybridge_Exception $e ) {
			// A new name whose KEK could not be saved: its value could never be read, so it
			// does not stay in the vault. A known name kept its KEK: nothing to undo.
			if ( null === $kek ) {
				$this->client()->keys_delete( array( 'name' => Keybridge_Site_Names::to_agent( $name ) ) );
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
	 * @param string $agent The agent address.
	 * @return string
	 */
	private static function cache_scope( $agent ) {
		global $wpdb;
		return ABSPATH . "\0" . $wpdb->prefix . "\0" . $agent;
	}

	/**
	 * The name as the agent keeps it: Unicode NFC (when PHP has intl), so a name typed in
	 * another normal form finds the same KEK and cache entry (Keybridge_Names).
	 *
	 * @param string $name Key name.
	 * @return string
	 */
	private static function normalize( $name ) {
		$name = (string) $name;
		// ASCII is NFC already: a read of an ASCII name loads no class for it.
		return 1 === preg_match( '/[\x80-\xff]/', $name ) ? Keybridge_Names::normalize( $name ) : $name;
	}
}
