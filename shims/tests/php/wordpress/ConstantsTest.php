<?php
/**
 * Secrets as constants: the loader in mu-plugins, with the fixture's unmodified mailer plugin.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress -- tests.

use PHPUnit\Framework\TestCase;

/**
 * The fixture's mailer plugin (fixtures/wordpress/plugins/kb-fixture-mailer) reads its SMTP
 * password from the constant KB_FIXTURE_SMTP_PASS when one is defined, else from its option,
 * and knows nothing of keybridge. Mapping the constant to a key makes real page requests (over
 * HTTP, php -S) use the key's value; a constant defined earlier is kept and the status says
 * so; every mapped key comes in one agent call; with the agent down the page still renders.
 */
final class ConstantsTest extends TestCase {

	const CONSTANT = 'KB_FIXTURE_SMTP_PASS';

	/**
	 * Keys this test stored.
	 *
	 * @var string[]
	 */
	private $keys = array();

	/**
	 * The map and the loader as they were.
	 *
	 * @var array
	 */
	private $map_before = array();

	/**
	 * Must-use plugins this test wrote.
	 *
	 * @var string[]
	 */
	private $mu_plugins = array();

	protected function setUp(): void {
		wp_cache_flush();
		$this->map_before = Keybridge_Constants::map();
		// Each test maps what it needs: the fixture's constant starts unmapped.
		$map = $this->map_before;
		unset( $map[ self::CONSTANT ] );
		update_option( Keybridge_Constants::OPTION, $map, true );
	}

	protected function tearDown(): void {
		foreach ( $this->mu_plugins as $file ) {
			@unlink( $file );
		}
		wp_cache_flush();
		update_option( Keybridge_Constants::OPTION, $this->map_before, true );
		foreach ( $this->keys as $key ) {
			keybridge_delete_key( $key );
		}
	}

	private function key( string $value ): string {
		$key          = Keybridge_WP_Fixture::unique( 'constants/smtp' );
		$this->keys[] = $key;
		$this->assertTrue( keybridge_set_key( $key, $value ) );
		return $key;
	}

	/**
	 * What the mailer plugin says in a real page request.
	 */
	private function mailer(): array {
		$body = file_get_contents( Keybridge_WP_Fixture::env( 'WP_URL' ) . '/?kb-fixture-mailer=1' );
		$this->assertIsString( $body );
		$answer = json_decode( $body, true );
		$this->assertIsArray( $answer, (string) $body );
		return $answer;
	}

	/**
	 * A must-use plugin that loads before the loader (as wp-config.php does before both).
	 */
	private function predefine( string $value ): void {
		$file               = WPMU_PLUGIN_DIR . '/a-keybridge-test-predefine.php';
		$this->mu_plugins[] = $file;
		file_put_contents( $file, "<?php\ndefine( '" . self::CONSTANT . "', " . var_export( $value, true ) . " );\n" );
	}

	public function test_map_installs_the_loader_and_the_unmodified_plugin_reads_the_key(): void {
		$value = 'smtp-' . bin2hex( random_bytes( 8 ) );
		$key   = $this->key( $value );
		$this->assertSame( 'option', $this->mailer()['source'], 'not mapped yet: the plugin falls back to its option' );

		list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'constant', 'map', self::CONSTANT, $key ) );
		$this->assertSame( 0, $exit, $out );
		$this->assertTrue( Keybridge_Constants::loader_installed() );
		$this->assertFileExists( WPMU_PLUGIN_DIR . '/keybridge-constants.php' );
		// WordPress lists it as a must-use plugin, and the plugin's own folder holds one plugin only.
		require_once ABSPATH . 'wp-admin/includes/plugin.php';
		$this->assertSame( 'Keybridge constants', get_mu_plugins()['keybridge-constants.php']['Name'] );
		$this->assertSame( array( 'keybridge.php' ), array_keys( get_plugins( '/keybridge' ) ) );

		$this->assertSame(
			array(
				'source'   => 'constant',
				'password' => hash( 'sha256', $value ),
			),
			$this->mailer()
		);

		list( , $list ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'constant', 'list', '--format=json' ) );
		$rows           = array_column( json_decode( $list, true ), null, 'constant' );
		$this->assertSame( array( 'constant' => self::CONSTANT, 'key' => $key, 'state' => 'defined', 'detail' => '' ), $rows[ self::CONSTANT ] );
		// Never the value: in the list, the page or the loader.
		$this->assertStringNotContainsString( $value, $list );
		$this->assertStringNotContainsString( $value, (string) file_get_contents( Keybridge_Constants::loader_path() ) );

		list( $exit ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'constant', 'unmap', self::CONSTANT ) );
		$this->assertSame( 0, $exit );
		$this->assertSame( 'option', $this->mailer()['source'] );
	}

	public function test_a_constant_defined_earlier_is_kept_and_the_status_says_so(): void {
		$key = $this->key( 'from keybridge' );
		Keybridge_Constants::set( self::CONSTANT, $key );
		$this->predefine( 'from wp-config' );
		$this->assertSame( hash( 'sha256', 'from wp-config' ), $this->mailer()['password'] );

		list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'status', '--format=json' ) );
		$rows = array_column( json_decode( $out, true )['rows'], null, 'id' );
		$this->assertSame( 0, $exit, 'a kept constant is a warning, not an error' );
		$this->assertSame( 'warning', $rows['constants']['severity'] );
		$this->assertStringContainsString( self::CONSTANT . ' kept: already defined', $rows['constants']['value'] );
		$this->assertStringContainsString( 'wp-config.php', $rows['constants']['help'] );
	}

	public function test_every_mapped_key_comes_in_one_agent_call(): void {
		// Keys no request has read: nothing of them is cached in the web server's APCu.
		$map = array();
		foreach ( array( 'KB_TEST_CONSTANT_A', 'KB_TEST_CONSTANT_B', 'KB_TEST_CONSTANT_C' ) as $constant ) {
			$map[ $constant ] = $this->key( 'value of ' . $constant );
			Keybridge_Constants::set( $constant, $map[ $constant ] );
		}
		$fetches = Keybridge_WP_Fixture::agent_requests( '/v1/keys/fetch' );
		$this->mailer();
		$this->assertSame( $fetches + 1, Keybridge_WP_Fixture::agent_requests( '/v1/keys/fetch' ) );
		// And a second page finds them cached: no call at all.
		$this->mailer();
		$this->assertSame( $fetches + 1, Keybridge_WP_Fixture::agent_requests( '/v1/keys/fetch' ) );
	}

	public function test_refuses_bad_names_and_keys_this_site_does_not_hold(): void {
		foreach ( array( '1ABC', 'A-B', 'KEYBRIDGE_AGENT', '', 'A B' ) as $bad ) {
			list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'constant', 'map', $bad, 'x' ) );
			$this->assertSame( 1, $exit, $bad );
			$this->assertStringContainsString( 'invalid-field', $err );
		}
		list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'constant', 'map', 'KB_TEST_NO_KEY', 'constants/never-stored' ) );
		$this->assertSame( 1, $exit );
		$this->assertStringContainsString( 'key-not-found', $err );
		$this->assertArrayNotHasKey( 'KB_TEST_NO_KEY', Keybridge_Constants::map() );
	}

	public function test_with_the_agent_down_the_page_renders_and_the_constant_stays_undefined(): void {
		$key = $this->key( 'while down' );
		Keybridge_Constants::set( self::CONSTANT, $key );
		Keybridge_WP_Fixture::agent( 'stop' );
		try {
			$answer = $this->mailer();
		} finally {
			Keybridge_WP_Fixture::agent( 'start' );
		}
		// Never cached (never read), so not defined: the plugin falls back to its own option.
		$this->assertSame( 'option', $answer['source'] );
		$log = (string) file_get_contents( Keybridge_WP_Fixture::env( 'WP_DEBUG_LOG' ) );
		$this->assertStringContainsString( 'keybridge constant ' . self::CONSTANT, $log );
	}
}
