<?php
/**
 * Round trips through Keybridge_Client against a real agent; run once per transport.
 *
 * @package Keybridge
 */

use Yoast\PHPUnitPolyfills\TestCases\TestCase;

/**
 * The client against `keybridge up`: values survive byte-exact, kb1 opens in PHP what the
 * agent wrapped, and the agent's problems keep their type, status and field. Subclasses
 * choose the transport (unix socket or loopback TCP).
 */
abstract class ClientRoundTripTestCase extends TestCase {

	/**
	 * The agent of this test class.
	 *
	 * @var Keybridge_Test_Agent
	 */
	protected static $agent;

	/**
	 * Everything secret these tests handled: no exception message may contain any of it.
	 *
	 * @var string[]
	 */
	protected static $secrets = array();

	/**
	 * 'unix' or 'tcp'.
	 *
	 * @return string The transport.
	 */
	abstract protected static function transport(): string;

	public static function set_up_before_class() {
		parent::set_up_before_class();
		static::$agent   = Keybridge_Test_Agent::start( static::transport() );
		static::$secrets = array( trim( (string) file_get_contents( static::$agent->token_file ) ) );
	}

	public static function tear_down_after_class() {
		static::$agent->stop();
		parent::tear_down_after_class();
	}

	/**
	 * Calls $fn, expects a Keybridge_Exception, checks its message holds no secret.
	 *
	 * @param callable $fn What should fail.
	 * @return Keybridge_Exception The exception.
	 */
	protected function failure( callable $fn ): Keybridge_Exception {
		try {
			$fn();
		} catch ( Keybridge_Exception $e ) {
			foreach ( static::$secrets as $secret ) {
				$this->assertStringNotContainsString( $secret, $e->getMessage(), 'a secret leaked into an exception message' );
				$this->assertStringNotContainsString( base64_encode( $secret ), $e->getMessage() );
			}
			return $e;
		}
		$this->fail( 'expected a Keybridge_Exception' );
	}

	/**
	 * Stores a value and remembers it and its KEK as secrets.
	 *
	 * @param Keybridge_Client $client The client.
	 * @param string           $name   Key name.
	 * @param string           $value  Any bytes.
	 * @param string           $kek    KEK to keep, or '' for a new one.
	 * @return array The written answer.
	 */
	protected function set_value( Keybridge_Client $client, string $name, string $value, string $kek = '' ): array {
		$body = array(
			'name'         => $name,
			'value_base64' => base64_encode( $value ),
		);
		if ( '' !== $kek ) {
			$body['wrapping_key'] = $kek;
		}
		$written = $client->keys_set( $body );
		$this->assertSame( $name, $written['name'] );
		$this->assertMatchesRegularExpression( '/^kb1\$[A-Za-z0-9_-]{43}$/', $written['wrapping_key'] );
		if ( strlen( $value ) >= 8 ) {
			static::$secrets[] = $value;
		}
		static::$secrets[] = $written['wrapping_key'];
		return $written;
	}

	/**
	 * Reads a value back through keys.get and through keys.fetch + Keybridge_Kb1.
	 *
	 * @param Keybridge_Client $client The client.
	 * @param string           $name   Key name.
	 * @param string           $kek    Its KEK.
	 * @return string[] The two readings.
	 */
	protected function read_both_ways( Keybridge_Client $client, string $name, string $kek ): array {
		$got     = $client->keys_get(
			array(
				'name'         => $name,
				'wrapping_key' => $kek,
			)
		);
		$fetched = $client->keys_fetch( array( 'names' => array( $name ) ) );
		$key = $fetched['keys'][0];
		$this->assertTrue( $key['found'] );
		$entry = $key + array(
			'site_id'     => $fetched['site_id'],
			'environment' => $fetched['environment'],
		);
		return array( base64_decode( $got['value_base64'], true ), Keybridge_Kb1::open_entry( $entry, $kek ) );
	}

	public function test_health_needs_no_token_and_status_does() {
		$client = new Keybridge_Client( static::$agent->address, static::$agent->home . '/no-such-token' );
		$health = $client->health();
		$this->assertSame( 'ok', $health['status'] );
		$e = $this->failure( array( $client, 'status' ) );
		$this->assertSame( 'token-file-unreadable', $e->problem_type() );
		$this->assertSame( 0, $e->http_status() );
		$this->assertStringContainsString( static::$agent->home . '/no-such-token', $e->getMessage() );
	}

	public function test_one_connection_is_kept_for_every_call_of_a_client() {
		$client = static::$agent->client();
		$connection = new ReflectionProperty( Keybridge_Client::class, 'connection' );
		$connection->setAccessible( true );
		$socket = new ReflectionProperty( Keybridge_Agent_Connection::class, 'socket' );
		$socket->setAccessible( true );
		$client->health();
		$first = $socket->getValue( $connection->getValue( $client ) );
		$this->assertIsResource( $first );
		for ( $i = 0; $i < 5; $i++ ) {
			$client->keys_fetch( array( 'names' => array( 'php/keep-alive' ) ) );
			// No new connection was needed: the socket from the first call is still the one in use.
			$this->assertSame( $first, $socket->getValue( $connection->getValue( $client ) ) );
			$this->assertIsResource( $first );
		}
	}

	public function test_text_value_round_trip() {
		$client  = static::$agent->client();
		$value   = 'sk_live_ünïcode / "quotes" \\ and slashes';
		$written = $client->keys_set(
			array(
				'name'  => 'php/text',
				'value' => $value,
				'label' => 'A label',
			)
		);
		static::$secrets[] = $written['wrapping_key'];
		static::$secrets[] = $value;
		$this->assertSame( array( $value, $value ), $this->read_both_ways( $client, 'php/text', $written['wrapping_key'] ) );
		$listed = $client->keys_list();
		$this->assertContains( 'php/text', array_column( $listed['keys'], 'name' ) );
	}

	public function test_listing_comes_in_pages_that_add_up_to_the_whole() {
		$client = static::$agent->client();
		foreach ( array( 'php/page-a', 'php/page-b', 'php/page-c' ) as $name ) {
			$this->set_value( $client, $name, 'v' );
		}
		$whole = array_column( $client->keys_list( array( 'limit' => 1000 ) )['keys'], 'name' );
		$paged = array();
		$query = array( 'limit' => 2 );
		do {
			$page = $client->keys_list( $query );
			$this->assertLessThanOrEqual( 2, count( $page['keys'] ) );
			$paged = array_merge( $paged, array_column( $page['keys'], 'name' ) );
			$query = isset( $page['next_cursor'] ) ? array(
				'limit'  => 2,
				'cursor' => $page['next_cursor'],
			) : null;
		} while ( null !== $query );
		$this->assertSame( $whole, $paged );
		$this->assertContains( 'php/page-b', $paged );
		try {
			$client->keys_list( array( 'limit' => 1001 ) );
			$this->fail( 'a limit above 1000 was taken' );
		} catch ( Keybridge_Exception $e ) {
			$this->assertSame( 'invalid-field', $e->problem_type() );
			$this->assertSame( 'limit', $e->field() );
		}
	}

	public function test_binary_and_64_kib_values_survive_byte_exact() {
		$client = static::$agent->client();
		$values = array(
			'php/binary' => "\x00\xff\xfe\x80 not utf-8 \xc3\x28 \x00",
			'php/64kib'  => random_bytes( 65536 ),
			'php/empty'  => '',
		);
		foreach ( $values as $name => $value ) {
			$written = $this->set_value( $client, $name, $value );
			list( $got, $opened ) = $this->read_both_ways( $client, $name, $written['wrapping_key'] );
			$this->assertTrue( $value === $got, $name . ' via keys.get' );
			$this->assertTrue( $value === $opened, $name . ' via keys.fetch + Keybridge_Kb1' );
		}
	}

	public function test_a_value_that_is_not_utf8_must_go_as_value_base64() {
		$e = $this->failure(
			function () {
				static::$agent->client()->keys_set(
					array(
						'name'  => 'php/raw',
						'value' => "\xff\xfe secret-bytes",
					)
				);
			}
		);
		$this->assertSame( 'invalid-value', $e->problem_type() );
		$this->assertStringNotContainsString( 'secret-bytes', $e->getMessage() );
	}

	public function test_reset_keeps_the_kek_and_rotate_makes_a_new_one() {
		$client  = static::$agent->client();
		$first   = $this->set_value( $client, 'php/rotating', 'first value' );
		$second  = $this->set_value( $client, 'php/rotating', 'second value', $first['wrapping_key'] );
		$this->assertSame( $first['wrapping_key'], $second['wrapping_key'] );
		$rotated = $client->keys_rotate(
			array(
				'name'         => 'php/rotating',
				'wrapping_key' => $first['wrapping_key'],
			)
		);
		static::$secrets[] = $rotated['wrapping_key'];
		$this->assertNotSame( $first['wrapping_key'], $rotated['wrapping_key'] );
		$this->assertSame( array( 'second value', 'second value' ), $this->read_both_ways( $client, 'php/rotating', $rotated['wrapping_key'] ) );
	}

	public function test_a_wrong_kek_is_kek_mismatch_in_php_and_at_the_agent() {
		$client = static::$agent->client();
		$right  = $this->set_value( $client, 'php/mine', 'my secret value' )['wrapping_key'];
		$wrong  = $this->set_value( $client, 'php/other', 'other secret value' )['wrapping_key'];

		$fetched = $client->keys_fetch( array( 'names' => array( 'php/mine' ) ) );
		$entry   = $fetched['keys'][0] + array(
			'site_id'     => $fetched['site_id'],
			'environment' => $fetched['environment'],
		);
		$e       = $this->failure(
			function () use ( $entry, $wrong ) {
				Keybridge_Kb1::open_entry( $entry, $wrong );
			}
		);
		$this->assertSame( 'kek-mismatch', $e->problem_type() );
		$this->assertSame( 'wrapping_key', $e->field() );

		$e = $this->failure(
			function () use ( $client, $wrong ) {
				$client->keys_get(
					array(
						'name'         => 'php/mine',
						'wrapping_key' => $wrong,
					)
				);
			}
		);
		$this->assertSame( 'kek-mismatch', $e->problem_type() );
		$this->assertSame( 409, $e->http_status() );
		$this->assertSame( 'wrapping_key', $e->field() );
		$this->assertSame( 'my secret value', Keybridge_Kb1::open_entry( $entry, $right ) );
	}

	public function test_a_tampered_or_truncated_ciphertext_is_ciphertext_invalid() {
		$client  = static::$agent->client();
		$kek     = $this->set_value( $client, 'php/tamper', 'tamper-proof value' )['wrapping_key'];
		$fetched = $client->keys_fetch( array( 'names' => array( 'php/tamper' ) ) );
		$entry   = $fetched['keys'][0] + array(
			'site_id'     => $fetched['site_id'],
			'environment' => $fetched['environment'],
		);
		$c       = $entry['ciphertext'];
		$flipped = substr( $c, 0, 20 ) . ( 'A' === $c[20] ? 'B' : 'A' ) . substr( $c, 21 );
		$cases   = array(
			'tampered'       => array( 'ciphertext' => $flipped ) + $entry,
			'truncated'      => array( 'ciphertext' => substr( $c, 0, 30 ) ) + $entry,
			'tag cut'        => array( 'ciphertext' => substr( $c, 0, -4 ) ) + $entry,
			'not kb1'        => array( 'ciphertext' => 'kb2.' . substr( $c, 4 ) ) + $entry,
			'other key id'   => array( 'key_id' => str_repeat( 'a', 64 ) ) + $entry,
			'other env'      => array( 'environment' => 'production' ) + $entry,
		);
		foreach ( $cases as $label => $bad ) {
			$e = $this->failure(
				function () use ( $bad, $kek ) {
					Keybridge_Kb1::open_entry( $bad, $kek );
				}
			);
			$this->assertSame( 'ciphertext-invalid', $e->problem_type(), $label );
		}
	}

	public function test_problems_keep_type_status_and_field() {
		$client = static::$agent->client();
		$e      = $this->failure(
			function () use ( $client ) {
				$client->keys_get(
					array(
						'name'         => 'php/never-set',
						'wrapping_key' => 'kb1$' . str_repeat( 'A', 43 ),
					)
				);
			}
		);
		$this->assertSame( 'key-not-found', $e->problem_type() );
		$this->assertSame( 404, $e->http_status() );
		$this->assertSame( 'name', $e->field() );

		$e = $this->failure(
			function () use ( $client ) {
				$client->keys_generate(
					array(
						'name' => 'php/generated',
						'bits' => 7,
					)
				);
			}
		);
		$this->assertSame( 'invalid-field', $e->problem_type() );
		$this->assertSame( 422, $e->http_status() );
		$this->assertSame( 'bits', $e->field() );
		$this->assertStringContainsString( 'bits must be a multiple of 8', $e->getMessage() );
	}

	public function test_a_wrong_token_is_unauthorized() {
		$file = static::$agent->home . '/wrong.token';
		file_put_contents( $file, str_repeat( 'x', 43 ) . "\n" );
		$e = $this->failure(
			function () use ( $file ) {
				( new Keybridge_Client( static::$agent->address, $file ) )->status();
			}
		);
		$this->assertSame( 'unauthorized', $e->problem_type() );
		$this->assertSame( 401, $e->http_status() );
		$this->assertStringNotContainsString( str_repeat( 'x', 43 ), $e->getMessage() );
	}

	public function test_fetched_ciphertexts_cached_per_request_open_like_fresh_ones() {
		$client = static::$agent->client();
		$kek    = $this->set_value( $client, 'php/cached', 'cached secret value' )['wrapping_key'];
		$cache  = new Keybridge_Ciphertext_Cache( $client->agent(), false );
		$stored = $cache->store_fetched( $client->keys_fetch( array( 'names' => array( 'php/cached', 'php/absent' ) ) ) );
		$this->assertSame( array( 'php/cached' ), array_keys( $stored ) );
		$entry = $cache->get( 'php/cached' );
		$this->assertSame( 'cached secret value', Keybridge_Kb1::open_entry( $entry, $kek ) );
		$this->assertNull( $cache->get( 'php/absent' ) );
		$this->assertStringNotContainsString( 'cached secret value', serialize( $entry ) );
		$this->assertStringNotContainsString( $kek, serialize( $entry ) );
		Keybridge_Ciphertext_Cache::reset_request_cache();
	}
}
