<?php
/**
 * Which plugin reads which key: attribution, APCu batches, the key service's audit, allow lists.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress -- tests.

use PHPUnit\Framework\TestCase;

/**
 * Real page requests (php -S, APCu) in which the fixture's mailer plugin reads a key through
 * keybridge_get_key(): the reads are put down to plugin:kb-fixture-mailer, counted in APCu
 * without a database write, and sent in a batch to the agent — the key service's audit gets a
 * row under the opaque key id — and to the option `wp keybridge keys usage` shows. An allow
 * list that does not name the plugin makes its read null and logs access-denied.
 */
final class UsageTest extends TestCase {

	const CALLER = 'plugin:kb-fixture-mailer';

	/**
	 * Key of this test.
	 *
	 * @var string
	 */
	private $key;

	/**
	 * Must-use plugin that sets the batch period for the web server.
	 *
	 * @var string
	 */
	private $period_plugin;

	protected function setUp(): void {
		$this->key           = Keybridge_WP_Fixture::unique( 'usage/token' );
		$this->period_plugin = WPMU_PLUGIN_DIR . '/keybridge-test-usage-period.php';
		$this->assertTrue( keybridge_set_key( $this->key, 'usage value' ) );
	}

	protected function tearDown(): void {
		@unlink( $this->period_plugin );
		Keybridge_Usage::set_allowed( $this->key, array() );
		keybridge_delete_key( $this->key );
	}

	/**
	 * The web server sends each site's batch every `$seconds` (the plugin's filter).
	 */
	private function batch_period( int $seconds ): void {
		file_put_contents( $this->period_plugin, "<?php\nadd_filter( 'keybridge_usage_flush_seconds', static function () { return $seconds; } );\n" );
	}

	/**
	 * One page request in which the mailer plugin reads the key `$reads` times.
	 */
	private function page( int $reads ): array {
		$body = file_get_contents( Keybridge_WP_Fixture::env( 'WP_URL' ) . '/?kb-fixture-mailer=1&reads=' . $reads . '&key=' . rawurlencode( $this->key ) );
		$this->assertIsString( $body );
		return json_decode( $body, true );
	}

	/**
	 * Usage rows of this test's key, as `wp keybridge keys usage` prints them.
	 */
	private function usage(): array {
		list( $exit, $out, $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'keys', 'usage', $this->key, '--format=json' ) );
		$this->assertSame( 0, $exit, $err );
		return array_column( json_decode( $out, true ), null, 'caller' );
	}

	/**
	 * The key service's audit rows of op usage (its SQLite file, read-only).
	 */
	private function audit(): array {
		$db   = new PDO( 'sqlite:' . Keybridge_WP_Fixture::env( 'KEYBRIDGE_HOME' ) . '/server/keybridge.db', null, null, array( PDO::SQLITE_ATTR_OPEN_FLAGS => PDO::SQLITE_OPEN_READONLY ) );
		$rows = $db->query( "SELECT actor, key_id, result FROM audit WHERE op = 'usage' ORDER BY seq" )->fetchAll( PDO::FETCH_ASSOC );
		return is_array( $rows ) ? $rows : array();
	}

	/**
	 * Writes MariaDB counted so far (inserts, updates, deletes, replaces).
	 */
	private function database_writes(): int {
		global $wpdb;
		$total = 0;
		foreach ( $wpdb->get_results( "SHOW GLOBAL STATUS WHERE Variable_name IN ( 'Com_insert', 'Com_update', 'Com_delete', 'Com_replace' )" ) as $row ) {
			$total += (int) $row->Value;
		}
		return $total;
	}

	public function test_a_plugins_reads_are_counted_in_apcu_then_sent_to_the_audit_in_a_batch(): void {
		// First no batch at all (period one hour, started by a first request): no write per read.
		$this->batch_period( 3600 );
		$this->page( 1 );
		$writes = $this->database_writes();
		$audit  = count( $this->audit() );
		for ( $i = 0; $i < 10; $i++ ) {
			$this->assertSame( hash( 'sha256', 'usage value' ), $this->page( 3 )['key'] );
		}
		$this->assertSame( $writes, $this->database_writes(), 'thirty reads wrote nothing to the database' );
		$this->assertSame( $audit, count( $this->audit() ), 'and sent nothing yet' );

		// A short period: the next request after it takes the batch.
		$this->batch_period( 1 );
		usleep( 1100000 );
		$this->page( 1 );
		$usage = $this->usage();
		$this->assertArrayHasKey( self::CALLER, $usage );
		$this->assertGreaterThanOrEqual( 31, $usage[ self::CALLER ]['reads'] );
		$this->assertSame( 0, $usage[ self::CALLER ]['denied'] );
		$this->assertMatchesRegularExpression( '/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/', $usage[ self::CALLER ]['last_read_at'] );

		$rows = array_values(
			array_filter(
				$this->audit(),
				static function ( $row ) {
					return ' via ' . self::CALLER === substr( $row['actor'], -strlen( ' via ' . self::CALLER ) );
				}
			)
		);
		$this->assertNotEmpty( $rows, 'the key service recorded the batch' );
		$last = end( $rows );
		$this->assertMatchesRegularExpression( '/^[0-9a-f]{64}$/', $last['key_id'] );
		$this->assertMatchesRegularExpression( '/^reads=\d+,denied=0,last=/', $last['result'] );
		$this->assertStringNotContainsString( $this->key, json_encode( $this->audit() ) );
	}

	public function test_a_plugins_get_option_of_a_protected_option_is_put_down_to_it(): void {
		// The mailer reads its password with get_option() and knows nothing of keybridge.
		$had = get_option( 'kb_fixture_smtp_pass', null );
		update_option( 'kb_fixture_smtp_pass', 'mailer password' );
		$this->assertTrue( keybridge_protect_option( 'kb_fixture_smtp_pass' ) );
		$key = Keybridge_Protected_Options::key_name( 'kb_fixture_smtp_pass' );
		try {
			$this->batch_period( 3600 );
			for ( $i = 0; $i < 4; $i++ ) {
				// Cold the first time, then warm: both kinds of read are counted.
				$this->assertSame( hash( 'sha256', 'mailer password' ), $this->page( 1 )['password'] );
			}
			// The web server's APCu is its own: a request after a short period sends the batch.
			$this->batch_period( 1 );
			usleep( 1100000 );
			$this->assertSame( hash( 'sha256', 'mailer password' ), $this->page( 1 )['password'] );
			list( $exit, $out, $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'keys', 'usage', $key, '--format=json' ) );
			$this->assertSame( 0, $exit, $err );
			$usage = array_column( json_decode( $out, true ), null, 'caller' );
			$this->assertArrayHasKey( self::CALLER, $usage, $out );
			$this->assertGreaterThanOrEqual( 5, $usage[ self::CALLER ]['reads'] );
		} finally {
			keybridge_unprotect_option( 'kb_fixture_smtp_pass' );
			if ( null === $had ) {
				delete_option( 'kb_fixture_smtp_pass' );
			} else {
				update_option( 'kb_fixture_smtp_pass', $had );
			}
		}
	}

	public function test_an_allow_list_without_the_plugin_gives_it_null_and_logs_access_denied(): void {
		$this->batch_period( 1 );
		list( $exit ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'keys', 'allow', $this->key, 'plugin:some-other-plugin' ) );
		$this->assertSame( 0, $exit );
		$this->assertNull( $this->page( 1 )['key'] );
		$log = (string) file_get_contents( Keybridge_WP_Fixture::env( 'WP_DEBUG_LOG' ) );
		$this->assertStringContainsString( self::CALLER . ' may not read ' . $this->key . ': access-denied', $log );
		$this->assertStringNotContainsString( 'usage value', $log );

		usleep( 1100000 );
		$this->page( 1 );
		$this->assertGreaterThanOrEqual( 1, $this->usage()[ self::CALLER ]['denied'] );

		list( $exit ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'keys', 'allow', $this->key, self::CALLER ) );
		$this->assertSame( 0, $exit );
		$this->assertSame( hash( 'sha256', 'usage value' ), $this->page( 1 )['key'], 'named in the list: it reads again' );

		list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'keys', 'allow', $this->key, 'plugin:../etc' ) );
		$this->assertSame( 1, $exit );
		$this->assertStringContainsString( 'invalid-field', $err );
	}

	public function test_reads_are_put_down_to_the_file_that_asked(): void {
		$this->assertSame( 'plugin:kb-fixture-mailer', Keybridge_Usage::caller_of_file( WP_PLUGIN_DIR . '/kb-fixture-mailer/kb-fixture-mailer.php' ) );
		$this->assertSame( 'plugin:hello', Keybridge_Usage::caller_of_file( WP_PLUGIN_DIR . '/hello.php' ) );
		$this->assertSame( 'mu-plugin:keybridge-constants', Keybridge_Usage::caller_of_file( WPMU_PLUGIN_DIR . '/keybridge-constants.php' ) );
		$this->assertSame( 'theme:twentytwentythree', Keybridge_Usage::caller_of_file( get_theme_root() . '/twentytwentythree/functions.php' ) );
		$this->assertSame( 'core', Keybridge_Usage::caller_of_file( ABSPATH . WPINC . '/option.php' ) );
		$this->assertSame( 'core', Keybridge_Usage::caller_of_file( ABSPATH . 'wp-admin/admin.php' ) );
		$this->assertSame( 'unknown', Keybridge_Usage::caller_of_file( '/tmp/elsewhere.php' ) );
		// A read in this process (PHPUnit's file is neither plugin, theme nor core).
		$this->assertSame( 'usage value', keybridge_get_key( $this->key ) );
		// Paths wp_normalize_path() would change are classified as it normalizes them.
		$this->assertSame( 'plugin:kb-fixture-mailer', Keybridge_Usage::caller_of_file( WP_PLUGIN_DIR . '//kb-fixture-mailer///kb-fixture-mailer.php' ) );
		$this->assertSame( 'plugin:hello', Keybridge_Usage::caller_of_file( str_replace( '/', '\\', WP_PLUGIN_DIR . '/hello.php' ) ) );
	}

	/**
	 * The end of a page skips wp_normalize_path() for paths it would return unchanged: the
	 * shortcut must give its answer for every kind of path.
	 */
	public function test_paths_are_normalized_as_wordpress_does(): void {
		$normal = new ReflectionMethod( 'Keybridge_Usage', 'normal_path' );
		$normal->setAccessible( true );
		$paths = array( '/var/www/wp-content/plugins/a/a.php', '/var//www/a.php', '//server/share/a.php', '/var/www/', 'C:\\wp\\a.php', 'c:/wp/a.php', 'C:/wp//a.php', 'phar:///var/a.phar/a.php', 'file:///var/a.php', 'relative/a.php', 'a', '', '/', 'c:', '\\\\server\\share' );
		foreach ( $paths as $path ) {
			$this->assertSame( wp_normalize_path( $path ), $normal->invoke( null, $path ), $path );
		}
	}
}
