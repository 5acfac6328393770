<?php
/**
 * Keybridge_Ciphertext_Cache in APCu and per request.
 *
 * @package Keybridge
 */

use Yoast\PHPUnitPolyfills\TestCases\TestCase;

/**
 * The cache keeps what keys.fetch returned (ciphertexts and AAD fields, never a value or a
 * KEK) for cache_ttl_ms, apart per scope, and stops serving entries of another site id or
 * environment than the latest one seen.
 */
final class CiphertextCacheTest extends TestCase {

	/**
	 * The second kb1 vector (production, "hello world").
	 *
	 * @return array The vector.
	 */
	private static function vector(): array {
		$file = KEYBRIDGE_REPO_ROOT . '/sidecar/src/crypto/kb1.vectors.json';
		return json_decode( (string) file_get_contents( $file ), true )['vectors'][1];
	}

	/**
	 * A keys.fetch answer holding the vector under $name, and one name not found.
	 *
	 * @param string $name   Key name.
	 * @param int    $ttl_ms cache_ttl_ms.
	 * @param string $site   site_id.
	 * @return array The answer.
	 */
	private static function fetched( string $name, int $ttl_ms = 30000, string $site = '' ): array {
		$v = self::vector();
		return array(
			'site_id'      => '' === $site ? $v['site_id'] : $site,
			'environment'  => $v['environment'],
			'cache_ttl_ms' => $ttl_ms,
			'keys'         => array(
				array(
					'name'       => $name,
					'found'      => true,
					'key_id'     => $v['key_id'],
					'kek_id'     => $v['kek_id'],
					'ciphertext' => $v['ciphertext'],
					'version'    => 3,
				),
				array(
					'name'   => 'missing',
					'found'  => false,
					'key_id' => str_repeat( 'f', 64 ),
				),
			),
		);
	}

	public function test_per_request_path() {
		$this->check_cache( false );
	}

	public function test_apcu_path() {
		if ( ! extension_loaded( 'apcu' ) ) {
			$this->markTestSkipped( 'the APCu extension is not installed' );
		}
		if ( function_exists( 'apcu_enabled' ) && apcu_enabled() ) {
			$this->check_cache( true );
			return;
		}
		// APCu is off in this CLI (apc.enable_cli is a startup setting): run this test again in
		// a PHP that has it on.
		$command = array( PHP_BINARY, '-d', 'apc.enable_cli=1', dirname( __DIR__, 3 ) . '/vendor/bin/phpunit', '--filter', 'CiphertextCacheTest::test_apcu_path', __FILE__ );
		$process = proc_open(
			$command,
			array(
				0 => array( 'file', '/dev/null', 'r' ),
				1 => array( 'pipe', 'w' ),
				2 => array( 'pipe', 'w' ),
			),
			$pipes,
			dirname( __DIR__, 3 )
		);
		$output  = stream_get_contents( $pipes[1] ) . stream_get_contents( $pipes[2] );
		$status  = proc_close( $process );
		$this->assertSame( 0, $status, $output );
		$this->assertStringContainsString( 'OK (1 test', $output );
	}

	/**
	 * The cache's behaviour, in APCu or per request.
	 *
	 * @param bool $apcu Whether to use APCu.
	 */
	private function check_cache( bool $apcu ) {
		$v     = self::vector();
		$scope = 'unix:/run/agent-' . bin2hex( random_bytes( 4 ) ) . '.sock';
		$cache = new Keybridge_Ciphertext_Cache( $scope, $apcu );
		$this->assertSame( $apcu, $cache->uses_apcu() );

		// Stores found keys only; the entry opens with the KEK the CMS holds.
		$stored = $cache->store_fetched( self::fetched( 'app/token' ) );
		$this->assertSame( array( 'app/token' ), array_keys( $stored ) );
		$entry = $cache->get( 'app/token' );
		$this->assertSame( array( 'name', 'site_id', 'environment', 'key_id', 'kek_id', 'ciphertext', 'version' ), array_keys( $entry ) );
		$this->assertSame( 'hello world', Keybridge_Kb1::open_entry( $entry, $v['kek'] ) );
		$this->assertStringNotContainsString( 'hello world', serialize( $entry ) );
		$this->assertStringNotContainsString( substr( $v['kek'], 4 ), serialize( $entry ) );
		$this->assertNull( $cache->get( 'missing' ) );
		$this->assertSame( array( 'app/token' ), array_keys( $cache->get_many( array( 'app/token', 'missing', 'other' ) ) ) );

		// Another instance with the same scope (the next request) sees it only through APCu.
		Keybridge_Ciphertext_Cache::reset_request_cache();
		$next = new Keybridge_Ciphertext_Cache( $scope, $apcu );
		$this->assertSame( $apcu, null !== $next->get( 'app/token' ) );
		$next->store_fetched( self::fetched( 'app/token' ) );

		// Two sites on one APCu: another scope never sees this one's entries.
		$other_site = new Keybridge_Ciphertext_Cache( $scope . '#other', $apcu );
		$this->assertNull( $other_site->get( 'app/token' ) );

		// Names as the caller asked for them.
		$next->store_fetched( self::fetched( 'normalised' ), array( 'Asked Name' ) );
		$this->assertSame( 'Asked Name', $next->get( 'Asked Name' )['name'] );

		// A fetch under another site id (re-registration) or environment: older entries are misses.
		$this->assertNotNull( $next->get( 'app/token' ) );
		$next->store_fetched( self::fetched( 'app/new', 30000, 'site-2' ) );
		$this->assertNull( $next->get( 'app/token' ) );
		$this->assertNotNull( $next->get( 'app/new' ) );

		// delete(), a TTL of 0 (nothing stored) and expiry after cache_ttl_ms.
		$next->delete( 'app/new' );
		$this->assertNull( $next->get( 'app/new' ) );
		$next->store_fetched( self::fetched( 'app/zero', 0 ) );
		$this->assertNull( $next->get( 'app/zero' ) );
		$next->store_fetched( self::fetched( 'app/short', 150 ) );
		$this->assertNotNull( $next->get( 'app/short' ) );
		usleep( 250000 );
		$this->assertNull( $next->get( 'app/short' ) );

		if ( $apcu ) {
			// A record this request took from APCu is kept for the request's later reads (a
			// second read skips APCu), until its own expiry: APCu losing the entry behind the
			// cache's back (another worker's delete, an eviction) does not reach this request...
			$next->store_fetched( self::fetched( 'app/taken', 300 ) );
			$this->assertNotNull( $next->get( 'app/taken' ) );
			apcu_delete( Keybridge_Ciphertext_Cache::PREFIX . 'e' . strlen( $scope ) . ':' . $scope . 'app/taken' );
			$this->assertNotNull( $next->get( 'app/taken' ) );
			usleep( 400000 );
			$this->assertNull( $next->get( 'app/taken' ) );
			// ...but a write or delete of this request is seen at once: a new ciphertext stored
			// replaces what was taken, and a deleted name is a miss.
			$next->store_fetched( self::fetched( 'app/taken' ) );
			$this->assertSame( 3, $next->get( 'app/taken' )['version'] );
			$changed                       = self::fetched( 'app/taken' );
			$changed['keys'][0]['version'] = 4;
			$next->store_fetched( $changed );
			$this->assertSame( 4, $next->get( 'app/taken' )['version'] );
			$next->delete( 'app/taken' );
			$this->assertNull( $next->get( 'app/taken' ) );
			// The next request takes nothing over from this one.
			$next->store_fetched( self::fetched( 'app/taken' ) );
			$this->assertNotNull( $next->get( 'app/taken' ) );
			apcu_delete( Keybridge_Ciphertext_Cache::PREFIX . 'e' . strlen( $scope ) . ':' . $scope . 'app/taken' );
			Keybridge_Ciphertext_Cache::reset_request_cache();
			$this->assertNull( $next->get( 'app/taken' ) );
		}

		// set(), as the WordPress glue calls it.
		$next->set( 'app/set', $stored['app/token'], 30 );
		$this->assertSame( 'hello world', Keybridge_Kb1::open_entry( $next->get( 'app/set' ), $v['kek'] ) );
		try {
			$next->set( 'app/bad', array( 'site_id' => 's' ), 30 );
			$this->fail( 'accepted an entry without its fields' );
		} catch ( Keybridge_Exception $e ) {
			$this->assertSame( 'invalid-field', $e->problem_type() );
		}
		try {
			$next->store_fetched( array( 'keys' => array() ) );
			$this->fail( 'accepted a keys.fetch answer without site_id' );
		} catch ( Keybridge_Exception $e ) {
			$this->assertSame( 'agent-response-invalid', $e->problem_type() );
		}
		Keybridge_Ciphertext_Cache::reset_request_cache();
	}
}
