<?php
/**
 * Protected options with an unmodified plugin's get_option()/update_option() calls.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress -- tests.

use PHPUnit\Framework\TestCase;

/**
 * A fake SMTP plugin keeps `…smtp_password` (a string) and `…smtp_settings` (an array); both are
 * protected, used through the ordinary option API, and unprotected again.
 */
final class ProtectedOptionsTest extends TestCase {

	/**
	 * Options this test created (removed in tearDown).
	 *
	 * @var string[]
	 */
	private $options = array();

	protected function tearDown(): void {
		foreach ( $this->options as $option ) {
			if ( Keybridge_Protected_Options::is_protected( $option ) ) {
				keybridge_unprotect_option( $option );
			}
			delete_option( $option );
		}
	}

	private function option( string $prefix ): string {
		$option          = str_replace( '-', '_', Keybridge_WP_Fixture::unique( $prefix ) );
		$this->options[] = $option;
		return $option;
	}

	/**
	 * The row as stored, past every filter and cache.
	 */
	private function row( string $option ): ?string {
		global $wpdb;
		return $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", $option ) );
	}

	/**
	 * A row that holds a reference (keybridge:ref:v1:<version>) and nothing else.
	 */
	private function assertReference( ?string $row ): void {
		$this->assertMatchesRegularExpression( '/^keybridge:ref:v1:[0-9]+$/', (string) $row );
	}

	/**
	 * What a new request would see: no object cache, no ciphertext cache.
	 */
	private function new_request(): void {
		wp_cache_flush();
		Keybridge_Ciphertext_Cache::reset_request_cache();
	}

	public function test_a_string_option_round_trips_while_its_row_holds_only_the_reference(): void {
		$option = $this->option( 'fake_smtp_password' );
		add_option( $option, 'pa$$word with "quotes" & <tags>' );

		$this->assertTrue( keybridge_protect_option( $option ) );
		$this->assertReference( $this->row( $option ) );
		$this->assertContains( $option, Keybridge_Protected_Options::names() );
		$this->assertSame( 'pa$$word with "quotes" & <tags>', get_option( $option ) );
		$this->new_request();
		$this->assertSame( 'pa$$word with "quotes" & <tags>', get_option( $option ) );

		// The plugin saves a new password the way it always did.
		$this->assertTrue( update_option( $option, 'n3w-secret' ) );
		$this->assertReference( $this->row( $option ) );
		$this->assertSame( 'n3w-secret', get_option( $option ) );
		$this->new_request();
		$this->assertSame( 'n3w-secret', get_option( $option ) );
		$this->assertFalse( update_option( $option, 'n3w-secret' ), 'an unchanged value is no update' );
		$this->assertSame( 'n3w-secret', keybridge_get_key( 'wp-option:' . $option ), 'kept under wp-option:<option>' );

		$this->assertTrue( keybridge_unprotect_option( $option ) );
		$this->assertSame( 'n3w-secret', $this->row( $option ) );
		$this->assertNotContains( $option, Keybridge_Protected_Options::names() );
		$this->new_request();
		$this->assertSame( 'n3w-secret', get_option( $option ) );
		$this->assertNull( keybridge_get_key( 'wp-option:' . $option ), 'the key is gone once the row holds the value' );
	}

	public function test_an_array_option_comes_back_exactly(): void {
		$option   = $this->option( 'fake_smtp_settings' );
		$settings = array(
			'host'     => 'smtp.example.com',
			'port'     => 587,
			'password' => 'sécret ✓ "quoted"',
			'tls'      => true,
			'nested'   => array( 'a' => 1.5, 'b' => null ),
		);
		add_option( $option, $settings, '', 'no' );
		$raw_before = $this->row( $option );

		$this->assertTrue( keybridge_protect_option( $option ) );
		$this->assertReference( $this->row( $option ) );
		$this->new_request();
		$this->assertSame( $settings, get_option( $option ) );

		$settings['password'] = 'changed';
		$this->assertTrue( update_option( $option, $settings ) );
		$this->assertReference( $this->row( $option ) );
		$this->new_request();
		$this->assertSame( $settings, get_option( $option ) );

		$this->assertTrue( keybridge_unprotect_option( $option ) );
		$this->assertSame( maybe_serialize( $settings ), $this->row( $option ) );
		$this->assertNotSame( $raw_before, $this->row( $option ) );
		$this->new_request();
		$this->assertSame( $settings, get_option( $option ) );
		global $wpdb;
		$this->assertSame( 'no', $wpdb->get_var( $wpdb->prepare( "SELECT autoload FROM {$wpdb->options} WHERE option_name = %s", $option ) ), 'autoload kept' );
	}

	public function test_values_that_look_serialized_and_scalars_come_back_as_wordpress_would_give_them(): void {
		$option = $this->option( 'fake_serialized_looking' );
		add_option( $option, 'a:1:{i:0;s:1:"x";}' );
		$this->assertTrue( keybridge_protect_option( $option ) );
		$this->new_request();
		$this->assertSame( 'a:1:{i:0;s:1:"x";}', get_option( $option ) );
		$this->assertTrue( update_option( $option, 42 ) );
		$this->new_request();
		$this->assertSame( '42', get_option( $option ), 'as an unprotected option gives it back from MySQL' );
	}

	/**
	 * A page reading several protected options pays one agent call, and none once warm
	 * (counted in the agent's request log).
	 */
	public function test_reads_of_protected_options_are_batched_and_cached(): void {
		$options = array();
		foreach ( range( 1, 3 ) as $i ) {
			$options[ $i ] = $this->option( "fake_batch_$i" );
			add_option( $options[ $i ], "batch secret $i" );
			$this->assertTrue( keybridge_protect_option( $options[ $i ] ) );
		}
		$this->new_request();
		$reflection = new ReflectionProperty( 'Keybridge_Protected_Options', 'prefetched' );
		$reflection->setAccessible( true );
		$reflection->setValue( null, array() );

		$before = Keybridge_WP_Fixture::agent_requests( '/v1/keys/fetch' );
		foreach ( $options as $i => $option ) {
			$this->assertSame( "batch secret $i", get_option( $option ) );
		}
		$this->assertSame( $before + 1, Keybridge_WP_Fixture::agent_requests( '/v1/keys/fetch' ), 'one keys.fetch for all three' );

		wp_cache_flush();
		foreach ( $options as $i => $option ) {
			$this->assertSame( "batch secret $i", get_option( $option ) );
		}
		$this->assertSame( $before + 1, Keybridge_WP_Fixture::agent_requests( '/v1/keys/fetch' ), 'warm reads call no agent' );
	}

	public function test_delete_and_add_again(): void {
		$option = $this->option( 'fake_api_token' );
		add_option( $option, 'first token' );
		$this->assertTrue( keybridge_protect_option( $option ) );

		$this->assertTrue( delete_option( $option ) );
		$this->assertNull( $this->row( $option ) );
		$this->assertNull( keybridge_get_key( 'wp-option:' . $option ), 'the value went with the option' );
		$this->new_request();
		$this->assertFalse( get_option( $option ) );
		$this->assertSame( 'default', get_option( $option, 'default' ) );

		// Still protected: the plugin adding it again stores the new value in keybridge.
		$this->assertTrue( add_option( $option, 'second token' ) );
		$this->assertReference( $this->row( $option ) );
		$this->new_request();
		$this->assertSame( 'second token', get_option( $option ) );

		// update_option() of a missing protected option adds it the same way.
		delete_option( $option );
		$this->assertTrue( update_option( $option, 'third token' ) );
		$this->assertReference( $this->row( $option ) );
		$this->new_request();
		$this->assertSame( 'third token', get_option( $option ) );
	}

	public function test_protecting_a_missing_option_fails_and_protecting_twice_is_harmless(): void {
		$missing = $this->option( 'fake_missing' );
		$this->assertFalse( keybridge_protect_option( $missing ) );
		$this->assertNotContains( $missing, Keybridge_Protected_Options::names() );
		$keks = Keybridge_Keks::all();
		$this->assertFalse( keybridge_protect_option( 'keybridge_keks' ), 'keybridge\'s own options stay readable' );
		$this->assertFalse( keybridge_protect_option( 'keybridge_protected_options' ) );
		$this->assertSame( $keks, Keybridge_Keks::all() );

		$option = $this->option( 'fake_twice' );
		add_option( $option, 'once' );
		$this->assertTrue( keybridge_protect_option( $option ) );
		$this->assertTrue( keybridge_protect_option( $option ) );
		$this->new_request();
		$this->assertSame( 'once', get_option( $option ) );
	}
}
