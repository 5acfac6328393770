<?php
/**
 * uninstall.php, run by WordPress's own uninstall_plugin() in a child PHP process.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress -- tests.

use PHPUnit\Framework\TestCase;

/**
 * Uninstalling gives protected options their values back, deletes the plugin's other options,
 * keeps the vault and the KEKs unless KEYBRIDGE_UNINSTALL_DELETE_KEYS is true, and loses
 * nothing when the agent is down. Each test puts the site back as it found it (the plugin
 * active, the options that were protected protected again, every key and KEK in place).
 */
final class UninstallTest extends TestCase {

	/**
	 * Options protected before the test (other tests' or the browser test's).
	 *
	 * @var string[]
	 */
	private $protected_before = array();

	/**
	 * The plugin's other options as they were (uninstalling deletes them), and the loader.
	 *
	 * @var array
	 */
	private $options_before = array();

	/**
	 * Whether the constants loader was installed before the test.
	 *
	 * @var bool
	 */
	private $loader_before = false;

	/**
	 * The test's own protected option and key.
	 *
	 * @var string
	 */
	private $option;

	/**
	 * Key name.
	 *
	 * @var string
	 */
	private $key;

	protected function setUp(): void {
		wp_cache_flush();
		$this->protected_before = Keybridge_Protected_Options::names();
		$this->loader_before    = Keybridge_Constants::loader_installed();
		foreach ( array( Keybridge_Constants::OPTION, Keybridge_Usage::OPTION, Keybridge_Usage::ACCESS_OPTION ) as $other ) {
			$this->options_before[ $other ] = get_option( $other, null );
		}
		$this->option           = str_replace( '-', '_', Keybridge_WP_Fixture::unique( 'uninstall_smtp_password' ) );
		$this->key              = Keybridge_WP_Fixture::unique( 'uninstall/key' );
		add_option( $this->option, 'uninstall secret' );
		$this->assertTrue( keybridge_protect_option( $this->option ) );
		$this->assertTrue( keybridge_set_key( $this->key, 'kept value' ) );
	}

	protected function tearDown(): void {
		wp_cache_flush();
		Keybridge_Ciphertext_Cache::reset_request_cache();
		foreach ( $this->protected_before as $option ) {
			if ( ! Keybridge_Protected_Options::is_protected( $option ) ) {
				keybridge_protect_option( $option );
			}
		}
		if ( Keybridge_Protected_Options::is_protected( $this->option ) ) {
			keybridge_unprotect_option( $this->option );
		}
		delete_option( $this->option );
		keybridge_delete_key( $this->key );
		foreach ( $this->options_before as $other => $value ) {
			if ( null !== $value ) {
				update_option( $other, $value, Keybridge_Usage::OPTION !== $other );
			}
		}
		if ( $this->loader_before ) {
			Keybridge_Constants::install_loader();
		}
	}

	/**
	 * Deactivates, uninstalls (uninstall_plugin() includes uninstall.php) and reactivates the
	 * plugin in a child PHP process against the same WordPress.
	 *
	 * @param bool $delete_keys Whether wp-config.php would define KEYBRIDGE_UNINSTALL_DELETE_KEYS true.
	 */
	private function uninstall( bool $delete_keys ): void {
		$script = sprintf(
			'%s $_SERVER["HTTP_HOST"] = "localhost"; require %s; require_once ABSPATH . "wp-admin/includes/plugin.php";'
			. ' deactivate_plugins( "keybridge/keybridge.php", true ); uninstall_plugin( "keybridge/keybridge.php" );'
			. ' $r = activate_plugin( "keybridge/keybridge.php" ); echo is_wp_error( $r ) ? $r->get_error_message() : "done";',
			$delete_keys ? 'define( "KEYBRIDGE_UNINSTALL_DELETE_KEYS", true );' : '',
			var_export( Keybridge_WP_Fixture::env( 'WP_PATH' ) . '/wp-load.php', true )
		);
		exec( escapeshellarg( PHP_BINARY ) . ' -r ' . escapeshellarg( $script ) . ' 2>&1', $output, $exit );
		$this->assertSame( 0, $exit, implode( "\n", $output ) );
		$this->assertStringEndsWith( 'done', implode( "\n", $output ) );
		wp_cache_flush();
		Keybridge_Ciphertext_Cache::reset_request_cache();
	}

	private function row( string $option ): ?string {
		global $wpdb;
		return $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", $option ) );
	}

	public function test_without_the_constant_values_and_keks_stay(): void {
		$keks = Keybridge_Keks::all();
		Keybridge_Constants::set( 'KB_UNINSTALL_TEST_CONSTANT', $this->key );
		Keybridge_Usage::set_allowed( $this->key, array( 'core' ) );
		$this->assertTrue( Keybridge_Constants::loader_installed() );
		$this->uninstall( false );

		$this->assertFalse( Keybridge_Constants::loader_installed(), 'the constants loader is gone from mu-plugins' );
		$this->assertFileDoesNotExist( Keybridge_Constants::loader_path() );
		$this->assertNull( $this->row( Keybridge_Constants::OPTION ), 'and the constants map' );
		$this->assertNull( $this->row( Keybridge_Usage::ACCESS_OPTION ), 'and the allow lists' );
		$this->assertSame( 'uninstall secret', $this->row( $this->option ), 'the value is back in the row' );
		$this->assertNull( $this->row( Keybridge_Protected_Options::OPTION ), 'the plugin\'s own option is gone' );
		$this->assertSame( $keks, Keybridge_Keks::all(), 'every KEK kept' );
		$this->assertSame( 'kept value', keybridge_get_key( $this->key ), 'the vault kept the value' );
		$this->assertSame( 'uninstall secret', keybridge_get_key( 'wp-option:' . $this->option ), 'and the protected option\'s copy' );
		keybridge_delete_key( 'wp-option:' . $this->option );
	}

	public function test_with_the_constant_keys_are_deleted_in_the_vault_then_the_keks(): void {
		// Everything the site holds, to put back afterwards with the same KEKs.
		$keks   = Keybridge_Keks::all();
		$values = array();
		foreach ( array_keys( $keks ) as $name ) {
			$values[ $name ] = keybridge_get_key( (string) $name );
		}
		try {
			$this->uninstall( true );

			$this->assertSame( 'uninstall secret', $this->row( $this->option ) );
			$this->assertNull( $this->row( Keybridge_Keks::OPTION ), 'no KEK left' );
			$names = array_column( Keybridge_Plugin::client()->keys_list( array( 'limit' => 1000 ) )['keys'], 'name' );
			$this->assertNotContains( $this->key, $names );
			$this->assertNotContains( 'wp-option:' . $this->option, $names );
		} finally {
			foreach ( $keks as $name => $kek ) {
				Keybridge_Keks::put( (string) $name, $kek );
				if ( null !== $values[ $name ] ) {
					Keybridge_Keys::instance()->store( (string) $name, $values[ $name ] );
				}
			}
		}
		$this->assertSame( $keks, Keybridge_Keks::all() );
	}

	public function test_with_the_agent_down_nothing_is_lost(): void {
		$keks = Keybridge_Keks::all();
		Keybridge_WP_Fixture::agent( 'stop' );
		try {
			$this->uninstall( true );
		} finally {
			Keybridge_WP_Fixture::agent( 'start' );
		}
		$this->assertTrue( Keybridge_Protected_Options::is_reference( $this->row( $this->option ) ), 'the reference row stays' );
		$this->assertContains( $this->option, Keybridge_Protected_Options::names(), 'and stays listed' );
		$this->assertSame( $keks, Keybridge_Keks::all(), 'every KEK kept' );
		$this->assertSame( 'uninstall secret', get_option( $this->option ) );
		$this->assertSame( 'kept value', keybridge_get_key( $this->key ) );
	}
}
