<?php
/**
 * `wp keybridge …` as real WP-CLI processes against the fixture's site.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress -- tests.

use PHPUnit\Framework\TestCase;

/**
 * WP-CLI 2.4 from shims/vendor loads the real plugin; each command is its own process.
 */
final class CliTest extends TestCase {

	/**
	 * What another process wrote is in the database, not in this process's object cache.
	 */
	protected function setUp(): void {
		wp_cache_flush();
		Keybridge_Ciphertext_Cache::reset_request_cache();
	}

	public function test_status_as_table_and_json(): void {
		list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'status' ) );
		$this->assertSame( 0, $exit );
		$this->assertMatchesRegularExpression( '/Agent reachable and version\s+ok/', $out );

		list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'status', '--format=json' ) );
		$this->assertSame( 0, $exit );
		$status = json_decode( $out, true );
		$this->assertTrue( $status['registered'] );
		$this->assertSame( array_keys( Keybridge_Spec::STATUS_ROWS ), array_column( $status['rows'], 'id' ) );
	}

	public function test_set_from_stdin_and_file_get_and_delete(): void {
		$name  = Keybridge_WP_Fixture::unique( 'cli/key' );
		$value = "from stdin\n\xff bytes kept exactly\n";
		list( $exit, $out, $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'set', $name, '--label=CLI key' ), $value );
		$this->assertSame( 0, $exit, $err );
		$this->assertStringContainsString( "Stored $name", $out );
		$this->assertStringNotContainsString( 'from stdin', $out . $err );

		list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'get', $name ) );
		$this->assertSame( 0, $exit );
		$this->assertSame( $value, $out );
		wp_cache_flush();
		$this->assertSame( $value, keybridge_get_key( $name ), 'the KEK the CLI kept is the site\'s' );

		$file = tempnam( sys_get_temp_dir(), 'keybridge-value' );
		file_put_contents( $file, 'from a file' );
		list( $exit ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'set', $name, '--value-file=' . $file ) );
		unlink( $file );
		$this->assertSame( 0, $exit );
		list( , $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'get', $name ) );
		$this->assertSame( 'from a file', $out );

		list( $exit ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'delete', $name, '--yes' ) );
		$this->assertSame( 0, $exit );
		list( $exit, $out, $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'get', $name ) );
		$this->assertSame( 1, $exit );
		$this->assertSame( '', $out );
		$this->assertStringContainsString( 'Error: key-not-found', $err );
	}

	public function test_failures_exit_non_zero_with_the_problem_type(): void {
		list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'set', 'has space', 'x' ) );
		$this->assertSame( 1, $exit );
		$this->assertStringContainsString( 'Error: invalid-name', $err );

		list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'register', '--email=someone@example.com' ) );
		$this->assertSame( 1, $exit );
		$this->assertStringContainsString( 'Error: already-registered', $err );

		list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'option', 'protect', 'no_such_option_' . bin2hex( random_bytes( 4 ) ) ) );
		$this->assertSame( 1, $exit );
		$this->assertStringContainsString( 'Error: invalid-field', $err );
	}

	/**
	 * A custom certificate and a renewal, each replacing the site's certificate on disk; the
	 * keys stay readable (same site, same environment).
	 */
	public function test_cert_create_and_renew(): void {
		$name = Keybridge_WP_Fixture::unique( 'cli/cert' );
		$this->assertTrue( keybridge_set_key( $name, 'survives new certificates' ) );
		// The browser test may have moved the fixture's site to production already: a custom
		// (development) certificate is then not for this site, a renewal still is.
		Keybridge_Status::forget();
		$environment = Keybridge_Status::fetch()['environment'];

		if ( 'development' === $environment ) {
			list( $exit, $out, $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'cert', 'create', '--country=NL', '--state=Noord-Holland', '--locality=Amsterdam', '--org=Example BV' ) );
			$this->assertSame( 0, $exit, $err );
			$this->assertMatchesRegularExpression( '/Success: New development certificate [0-9a-f]+, valid until /', $out );
		}

		list( $exit, $out, $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'cert', 'renew' ) );
		$this->assertSame( 0, $exit, $err );
		$this->assertStringContainsString( "Success: New $environment certificate", $out );

		list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'cert', 'create', '--country=nl', '--state=x', '--locality=y', '--org=z' ) );
		$this->assertSame( 1, $exit );
		$this->assertStringContainsString( 'Error: invalid-field', $err );

		Keybridge_Ciphertext_Cache::reset_request_cache();
		$this->assertSame( 'survives new certificates', keybridge_get_key( $name ) );
		keybridge_delete_key( $name );
	}

	public function test_option_protect_list_unprotect(): void {
		global $wpdb;
		$option = str_replace( '-', '_', Keybridge_WP_Fixture::unique( 'cli_smtp_password' ) );
		add_option( $option, 'cli secret' );
		try {
			list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'option', 'protect', $option ) );
			$this->assertSame( 0, $exit, $err );
			$row = $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", $option ) );
			$this->assertTrue( Keybridge_Protected_Options::is_reference( $row ) );

			list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'option', 'list', '--format=json' ) );
			$this->assertSame( 0, $exit );
			$this->assertContains( array( 'option' => $option, 'key' => 'wp-option:' . $option ), json_decode( $out, true ) );

			// Another process reads it through plain get_option() (WP-CLI's own `wp option`),
			// and saves a new value with update_option().
			list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'option', 'get', $option ) );
			$this->assertSame( 0, $exit );
			$this->assertSame( "cli secret\n", $out );
			list( $exit ) = Keybridge_WP_Fixture::wp( array( 'option', 'update', $option, 'cli secret 2' ) );
			$this->assertSame( 0, $exit );
			$row = $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", $option ) );
			$this->assertTrue( Keybridge_Protected_Options::is_reference( $row ) );

			list( $exit ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'option', 'unprotect', $option ) );
			$this->assertSame( 0, $exit );
			$row = $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", $option ) );
			$this->assertSame( 'cli secret 2', $row );
		} finally {
			wp_cache_flush();
			delete_option( $option );
		}
	}
}
