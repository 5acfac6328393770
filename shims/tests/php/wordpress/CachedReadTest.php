<?php
/**
 * keybridge_cached_value(): the class-free read of a cached ciphertext, against the full path.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress -- tests.

use PHPUnit\Framework\TestCase;

/**
 * The fast read must give exactly what Keybridge_Keys::read() gives, or step aside (null): every
 * doubt — a foreign or expired entry, a changed vault, a forged ciphertext, a KEK that is not
 * canonical, a name not in its normal form — goes to the full path, which reports it or
 * fetches anew. Each case spoils one thing in the real APCu entry or KEK row and checks both.
 */
final class CachedReadTest extends TestCase {

	/**
	 * Key of this test.
	 *
	 * @var string
	 */
	private $name;

	/**
	 * APCu key of this key's entry and of the site's vault context.
	 *
	 * @var string[]
	 */
	private $apcu;

	protected function setUp(): void {
		if ( ! function_exists( 'apcu_enabled' ) || ! apcu_enabled() ) {
			$this->markTestSkipped( 'APCu is off in this PHP (the fast read needs it; the runner enables it)' );
		}
		global $wpdb;
		$this->name = Keybridge_WP_Fixture::unique( 'cached-read/token' );
		$this->assertTrue( keybridge_set_key( $this->name, "bytes\0with NUL and \xff" ) );
		$scope      = ABSPATH . "\0" . $wpdb->prefix . "\0" . KEYBRIDGE_AGENT;
		$this->apcu = array(
			'context' => 'keybridge:c' . strlen( $scope ) . ':' . $scope,
			'entry'   => 'keybridge:e' . strlen( $scope ) . ':' . $scope . $this->name,
		);
		$this->assertSame( "bytes\0with NUL and \xff", keybridge_get_key( $this->name ) );
	}

	protected function tearDown(): void {
		keybridge_delete_key( $this->name );
	}

	private function fast(): ?string {
		return keybridge_cached_value( $this->name, wp_cache_get( 'alloptions', 'options' ) );
	}

	/**
	 * Rewrites one field of an APCu record (expires_at is field 0).
	 */
	private function spoil( string $which, int $field, string $value ): void {
		$parts           = explode( "\0", apcu_fetch( $this->apcu[ $which ] ), 'entry' === $which ? 7 : 3 );
		$parts[ $field ] = $value;
		$this->assertTrue( apcu_store( $this->apcu[ $which ], implode( "\0", $parts ), 60 ) );
		// Behind the cache's back: the records this request took would still be served.
		Keybridge_Ciphertext_Cache::reset_request_cache();
	}

	public function test_a_cached_value_is_read_without_the_full_path(): void {
		$this->assertSame( "bytes\0with NUL and \xff", $this->fast() );
		$this->assertSame( Keybridge_Keys::instance()->read( $this->name ), $this->fast() );
	}

	public function test_a_later_read_of_the_request_skips_apcu_until_the_request_writes(): void {
		$this->assertNotNull( $this->fast() );
		apcu_delete( $this->apcu['entry'] );
		$this->assertSame( "bytes\0with NUL and \xff", $this->fast(), 'the record this request took' );
		// A write through the plugin (here: the same key set anew) forgets it.
		$this->assertTrue( keybridge_set_key( $this->name, 'second value' ) );
		$this->assertNull( $this->fast(), 'the set dropped the entry; nothing taken is left' );
		$this->assertSame( 'second value', keybridge_get_key( $this->name ) );
		$this->assertSame( 'second value', $this->fast() );
		// So does a delete.
		$this->assertTrue( keybridge_delete_key( $this->name ) );
		$this->assertNull( $this->fast() );
		$this->assertNull( keybridge_get_key( $this->name ) );
	}

	public function test_a_taken_record_that_no_longer_opens_steps_aside(): void {
		$this->assertNotNull( $this->fast() );
		$alloptions = wp_cache_get( 'alloptions', 'options' );
		$kek        = Keybridge_Keks::get( $this->name );
		$other      = 'kb1$' . rtrim( strtr( base64_encode( random_bytes( 32 ) ), '+/', '-_' ), '=' );
		$alloptions['keybridge_keks'] = str_replace( $kek, $other, $alloptions['keybridge_keks'] );
		$this->assertNull( keybridge_cached_value( $this->name, $alloptions ), 'another KEK: the full path reports kek-mismatch' );
		$this->assertSame( "bytes\0with NUL and \xff", $this->fast() );
	}

	public function test_an_expired_entry_or_context_steps_aside_and_the_read_fetches_anew(): void {
		foreach ( array( 'entry', 'context' ) as $which ) {
			$this->spoil( $which, 0, sprintf( '%.3F', microtime( true ) - 1 ) );
			$this->assertNull( $this->fast(), $which );
			Keybridge_Ciphertext_Cache::reset_request_cache();
			$this->assertSame( "bytes\0with NUL and \xff", keybridge_get_key( $this->name ), $which );
			$this->assertNotNull( $this->fast(), 'the fetch cached it again' );
		}
	}

	public function test_an_entry_of_another_vault_is_not_served(): void {
		// The site moved to production: the agent's context names the new vault.
		$this->spoil( 'context', 2, 'production' === explode( "\0", apcu_fetch( $this->apcu['context'] ) )[2] ? 'development' : 'production' );
		$this->assertNull( $this->fast() );
		$this->spoil( 'context', 1, 'another-site-id' );
		$this->assertNull( $this->fast() );
	}

	public function test_a_forged_or_cut_ciphertext_steps_aside_and_the_full_path_repairs_it(): void {
		$entry = explode( "\0", apcu_fetch( $this->apcu['entry'] ), 7 );
		foreach ( array( 'flipped' => substr( $entry[6], 0, -1 ) . ( chr( ord( substr( $entry[6], -1 ) ) ^ 1 ) ), 'cut' => substr( $entry[6], 0, 20 ) ) as $case => $bytes ) {
			$this->spoil( 'entry', 6, $bytes );
			$this->assertNull( $this->fast(), $case );
			Keybridge_Ciphertext_Cache::reset_request_cache();
			$this->assertSame( "bytes\0with NUL and \xff", keybridge_get_key( $this->name ), $case );
		}
		// Bound to its key: the AAD names the key, so another key's entry does not open here.
		$this->spoil( 'entry', 3, 'another-key-id' );
		$this->assertNull( $this->fast() );
	}

	public function test_a_kek_that_is_not_canonical_or_not_there_steps_aside(): void {
		$alloptions = wp_cache_get( 'alloptions', 'options' );
		$kek        = Keybridge_Keks::get( $this->name );
		// The same 32 bytes with a non-zero padding bit: Keybridge_Kb1 refuses such text.
		$last = strpos( 'AEIMQUYcgkosw048', substr( $kek, -1 ) );
		$this->assertNotFalse( $last );
		$odd                          = substr( $kek, 0, -1 ) . 'BFJNRVZdhlptx159'[ $last ];
		$alloptions['keybridge_keks'] = str_replace( $kek, $odd, $alloptions['keybridge_keks'] );
		$this->assertNull( keybridge_cached_value( $this->name, $alloptions ) );
		unset( $alloptions['keybridge_keks'] );
		$this->assertNull( keybridge_cached_value( $this->name, $alloptions ) );
		$this->assertNull( keybridge_cached_value( $this->name, false ) );
	}

	public function test_names_the_full_path_would_change_or_that_look_like_the_row_step_aside(): void {
		// Decomposed: the full path reads it under its normal form (NFC), the only form the cache
		// keeps, so the fast read finds nothing for it and nothing else; the NFC form it reads.
		$decomposed = Keybridge_WP_Fixture::unique( "cached-read/cafe\u{0301}" );
		$composed   = Normalizer::normalize( $decomposed, Normalizer::FORM_C );
		$this->assertNotSame( $decomposed, $composed );
		$this->assertTrue( keybridge_set_key( $decomposed, 'accented' ) );
		try {
			$this->assertSame( 'accented', keybridge_get_key( $decomposed ) );
			$this->assertNull( keybridge_cached_value( $decomposed, wp_cache_get( 'alloptions', 'options' ) ) );
			$this->assertSame( 'accented', keybridge_cached_value( $composed, wp_cache_get( 'alloptions', 'options' ) ) );
		} finally {
			keybridge_delete_key( $decomposed );
		}
		// A name that spells a piece of the serialized row finds no KEK of another name.
		$alloptions = wp_cache_get( 'alloptions', 'options' );
		foreach ( array( $this->name . '";s:47:"kb1$', 'x";s:47:"' . Keybridge_Keks::get( $this->name ), '' ) as $odd ) {
			$this->assertNull( keybridge_cached_value( $odd, $alloptions ), $odd );
		}
		$this->assertNull( keybridge_cached_value( 42, $alloptions ) );
	}
}
