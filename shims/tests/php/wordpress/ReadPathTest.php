<?php
/**
 * What a warm read loads: the first read of a page pays for every class it loads.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress -- tests.

use PHPUnit\Framework\TestCase;

/**
 * Real page requests (php -S, APCu): a warm keybridge_get_key() (ciphertext in APCu) loads no
 * class at all (keybridge_cached_value() reads it) — no agent client, no spec, no usage class
 * until the request ends, no name rules for an ASCII name. Every class a page's first read loads is a
 * first-use cost (bench/php/README.md); a timing test on a shared machine could not hold this.
 */
final class ReadPathTest extends TestCase {

	/**
	 * Key of this test.
	 *
	 * @var string
	 */
	private $key;

	/**
	 * This page request's id (names its end-of-request report).
	 *
	 * @var string
	 */
	private $run = '';

	/**
	 * Must-use plugin that reports the classes a read loads.
	 *
	 * @var string
	 */
	private $probe;

	protected function setUp(): void {
		$this->key   = Keybridge_WP_Fixture::unique( 'read-path/token' );
		$this->probe = WPMU_PLUGIN_DIR . '/keybridge-test-read-path.php';
		$this->assertTrue( keybridge_set_key( $this->key, 'read path value' ) );
		file_put_contents(
			$this->probe,
			<<<'PHP'
<?php
add_action(
	'template_redirect',
	static function () {
		if ( ! isset( $_GET['kb-read-path'] ) ) {
			return;
		}
		$ours   = static function () {
			return array_values( array_filter( get_declared_classes(), static function ( $name ) {
				return 0 === strpos( $name, 'Keybridge_' );
			} ) );
		};
		$before = $ours();
		$value  = isset( $_GET['option'] ) ? get_option( wp_unslash( $_GET['option'] ) ) : keybridge_get_key( wp_unslash( $_GET['key'] ) );
		$after  = $ours();
		// After keybridge's own end of request (it registered first, at the read): what
		// counting the read loaded. No batch is due during the test (one an hour).
		add_filter( 'keybridge_usage_flush_seconds', static function () {
			return 3600;
		} );
		$report = sys_get_temp_dir() . '/keybridge-read-path-' . preg_replace( '/[^a-z0-9]/', '', $_GET['kb-read-path'] ) . '.json';
		register_shutdown_function( static function () use ( $ours, $after, $report ) {
			file_put_contents( $report, json_encode( array_values( array_diff( $ours(), $after ) ) ) );
		} );
		wp_send_json(
			array(
				'read'   => is_string( $value ) ? hash( 'sha256', $value ) : null,
				'loaded' => array_values( array_diff( $after, $before ) ),
				'all'    => $after,
			)
		);
	}
);
PHP
		);
	}

	protected function tearDown(): void {
		@unlink( $this->probe );
		keybridge_delete_key( $this->key );
	}

	/**
	 * One page request that reads the key once.
	 */
	private function page( string $option = '' ): array {
		$this->run = bin2hex( random_bytes( 8 ) );
		$read      = '' === $option ? '&key=' . rawurlencode( $this->key ) : '&option=' . rawurlencode( $option );
		$body      = file_get_contents( Keybridge_WP_Fixture::env( 'WP_URL' ) . '/?kb-read-path=' . $this->run . $read );
		$this->assertIsString( $body );
		$answer = json_decode( $body, true );
		$this->assertIsArray( $answer, $body );
		$this->assertSame( hash( 'sha256', 'read path value' ), $answer['read'] );
		return $answer;
	}

	public function test_a_warm_read_loads_the_read_path_and_nothing_else(): void {
		$this->page(); // Cold: fetched from the agent and kept in APCu.
		$this->assertWarmPageLoadsNothing( $this->page() );
	}

	/**
	 * A plugin's own get_option() of a protected option takes the same class-free path.
	 */
	public function test_a_warm_read_of_a_protected_option_loads_nothing_either(): void {
		$option = str_replace( array( '-', '/' ), '_', Keybridge_WP_Fixture::unique( 'read_path_option' ) );
		add_option( $option, 'read path value', '', true );
		$this->assertTrue( keybridge_protect_option( $option ) );
		try {
			$this->page( $option ); // Cold.
			$this->assertWarmPageLoadsNothing( $this->page( $option ) );
		} finally {
			keybridge_unprotect_option( $option );
			delete_option( $option );
		}
	}

	private function assertWarmPageLoadsNothing( array $warm ): void {
		$this->assertSame( array(), $warm['loaded'], 'keybridge_cached_value() read it' );
		foreach ( array( 'Keybridge_Keys', 'Keybridge_Ciphertext_Cache', 'Keybridge_Spec', 'Keybridge_Client', 'Keybridge_Agent_Connection', 'Keybridge_Names', 'Keybridge_Usage' ) as $class ) {
			$this->assertNotContains( $class, $warm['all'], $class . ' was loaded in a page whose only keybridge work was a warm read' );
		}
		// Its end: the read counted for its caller (remembered from the first page) in APCu.
		$report = sys_get_temp_dir() . '/keybridge-read-path-' . $this->run . '.json';
		for ( $i = 0; $i < 50 && ! file_exists( $report ); $i++ ) {
			usleep( 20000 ); // The response can arrive before the shutdown functions ran.
		}
		$this->assertFileExists( $report );
		$at_end = json_decode( file_get_contents( $report ), true );
		unlink( $report );
		$this->assertSame( array(), $at_end, 'counting the read at the end loaded no class' );
	}
}
