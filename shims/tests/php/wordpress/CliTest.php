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

	/**
	 * Exit status for scripts: 0 with yellow rows only (the fixture's software root key is a
	 * warning), 1 with --strict, 1 with a red row while the agent answers, 1 with the agent down.
	 */
	public function test_status_exit_codes_follow_the_rows(): void {
		list( $exit, $out, $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'status' ) );
		$this->assertSame( 0, $exit, $out . $err );
		$this->assertMatchesRegularExpression( '/At-rest protection\s+warning/', $out );

		list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'status', '--strict' ) );
		$this->assertSame( 1, $exit );
		$this->assertMatchesRegularExpression( '/Error: keybridge needs attention: At-rest protection: [^;]+ \(warning\)/', $err );

		// A red row with the agent up: the certificate directory readable by others.
		$certs = Keybridge_WP_Fixture::env( 'KEYBRIDGE_HOME' ) . '/certs';
		chmod( $certs, 0755 );
		try {
			list( $exit, $out, $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'status', '--format=json' ) );
		} finally {
			chmod( $certs, 0700 );
		}
		$this->assertSame( 1, $exit );
		$this->assertSame( 'error', $this->row( json_decode( $out, true ), 'certificate-directory' )['severity'] );
		$this->assertMatchesRegularExpression( '/Certificate directory outside the webroot and private: \S+ is readable by others \(error\)/', $err );

		Keybridge_WP_Fixture::agent( 'stop' );
		try {
			list( $exit, $out, $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'status' ) );
		} finally {
			Keybridge_WP_Fixture::agent( 'start' );
		}
		$this->assertSame( 1, $exit );
		$this->assertMatchesRegularExpression( '/Agent reachable and version\s+error/', $out );
	}

	/**
	 * The help says what to run in WP-CLI's words, never the agent CLI's: a key set under
	 * another wrapping key (as after a database copy) makes the keys-need-reset row yellow,
	 * and `wp keybridge list` marks the key.
	 */
	public function test_help_and_list_speak_wp_cli(): void {
		$name = Keybridge_WP_Fixture::unique( 'cli/reset' );
		$this->assertTrue( keybridge_set_key( $name, 'the site\'s value' ) );
		$site_kek = Keybridge_Keks::get( $name );
		$client   = new Keybridge_Client( Keybridge_WP_Fixture::env( 'KEYBRIDGE_AGENT' ), Keybridge_WP_Fixture::env( 'KEYBRIDGE_TOKEN_FILE' ) );
		// Someone else sets it under a fresh KEK; the site's next read through the agent mismatches.
		$client->keys_set( array( 'name' => $name, 'value' => 'set elsewhere' ) );
		try {
			$client->keys_get( array( 'name' => $name, 'wrapping_key' => $site_kek ) );
			$this->fail( 'the old KEK opened the new value' );
		} catch ( Keybridge_Exception $e ) {
			$this->assertSame( 'kek-mismatch', $e->problem_type() );
		}
		try {
			list( $exit, $out, $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'status' ) );
			$this->assertSame( 0, $exit, $err );
			$this->assertStringContainsString( 'Run: wp keybridge set NAME < VALUE', $out );
			$this->assertDoesNotMatchRegularExpression( '/(?<!wp )keybridge (register|keys|cert) /', $out, 'no agent-CLI command in WP-CLI help' );

			list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'list', '--format=json' ) );
			$this->assertSame( 0, $exit );
			$keys = array_column( json_decode( $out, true ), null, 'name' );
			$this->assertSame( 'needs-reset', $keys[ $name ]['kek'] );
			$this->assertSame( array( 'name', 'label', 'version', 'updated_at', 'reads', 'kek' ), array_keys( $keys[ $name ] ) );
		} finally {
			keybridge_delete_key( $name );
		}
	}

	/**
	 * An unregistered agent's rows, worded for WP-CLI and for the settings page.
	 */
	public function test_an_unregistered_sites_help_per_surface(): void {
		$status   = Keybridge_WP_Fixture::unregistered_status();
		$row      = $this->row( $status, 'site-registered' );
		$wp_cli   = Keybridge_Status::what_to_do( $row, 'wp_cli' );
		$the_page = Keybridge_Status::what_to_do( $row, 'page' );
		$this->assertSame( 'register', $row['action'] );
		$this->assertStringContainsString( 'Run: wp keybridge register --email=you@example.com --site-name=NAME', $wp_cli );
		$this->assertStringContainsString( 'Use the form "Register this site".', $the_page );
		foreach ( array( $wp_cli, $the_page ) as $text ) {
			$this->assertStringNotContainsString( 'keybridge register --email you@', $text );
		}
	}

	public function test_list_formats(): void {
		$name = Keybridge_WP_Fixture::unique( 'cli/list' );
		$this->assertTrue( keybridge_set_key( $name, 'listed', 'A listed key' ) );
		try {
			list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'list' ) );
			$this->assertSame( 0, $exit );
			// Not a terminal: WP-CLI's table comes as tab-separated lines.
			$this->assertMatchesRegularExpression( '/^' . preg_quote( $name, '/' ) . '\tA listed key\t1\t[^\t]+\t\d+\theld$/m', $out );

			list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'list', '--format=csv' ) );
			$this->assertSame( 0, $exit );
			$this->assertStringStartsWith( "name,label,version,updated_at,reads,kek\n", $out );
			$this->assertMatchesRegularExpression( '/^' . preg_quote( $name, '/' ) . ',"A listed key",1,[^,]+,\d+,held$/m', $out );

			list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'list', '--format=yaml' ) );
			$this->assertSame( 0, $exit );
			$this->assertStringContainsString( 'name: ' . $name, $out );

			list( $exit, $out ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'list', '--format=count' ) );
			$this->assertSame( 0, $exit );
			$this->assertGreaterThanOrEqual( 1, (int) trim( $out ) );
		} finally {
			keybridge_delete_key( $name );
		}
	}

	/**
	 * The account password never is an argument: `--password=…` is refused before anything is
	 * sent, and `--password` reads it from stdin while the process list shows only the flag.
	 */
	public function test_register_takes_the_password_from_stdin_never_the_command_line(): void {
		$password = 'pw-' . bin2hex( random_bytes( 12 ) );
		list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'register', '--email=owner@example.com', '--password=' . $password ) );
		$this->assertSame( 1, $exit );
		$this->assertStringContainsString( 'Error: invalid-field: --password takes no value on the command line', $err );
		$this->assertStringNotContainsString( $password, $err );

		// The command waits for stdin: meanwhile every process's command line is read.
		$command = array_merge(
			array( PHP_BINARY, Keybridge_WP_Fixture::repo() . '/shims/vendor/wp-cli/wp-cli/php/boot-fs.php', '--path=' . Keybridge_WP_Fixture::env( 'WP_PATH' ), '--allow-root' ),
			array( 'keybridge', 'register', '--email=owner@example.com', '--password' )
		);
		$process = proc_open( $command, array( 0 => array( 'pipe', 'r' ), 1 => array( 'pipe', 'w' ), 2 => array( 'pipe', 'w' ) ), $pipes );
		$pid     = proc_get_status( $process )['pid'];
		$seen    = '';
		for ( $i = 0; $i < 50 && false === strpos( $seen, 'keybridge' ); $i++ ) {
			usleep( 100000 );
			$seen = (string) @file_get_contents( "/proc/$pid/cmdline" );
		}
		$this->assertStringContainsString( '--password', str_replace( "\0", ' ', $seen ), 'the process was seen while it waited' );
		fwrite( $pipes[0], $password . "\n" );
		$all = (string) shell_exec( 'ps -eo args' );
		fclose( $pipes[0] );
		$out = stream_get_contents( $pipes[1] );
		$err = stream_get_contents( $pipes[2] );
		fclose( $pipes[1] );
		fclose( $pipes[2] );
		$exit = proc_close( $process );
		$this->assertStringNotContainsString( $password, $seen . $all, 'no command line holds the password' );
		// It read the password and asked the agent, which refuses a second registration.
		$this->assertSame( 1, $exit );
		$this->assertStringContainsString( 'Error: already-registered', $err );
		$this->assertStringNotContainsString( $password, $out . $err );
	}

	public function test_a_value_as_an_argument_is_refused(): void {
		$name = Keybridge_WP_Fixture::unique( 'cli/argv' );
		list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'set', $name, 'a secret on the command line' ) );
		$this->assertSame( 1, $exit );
		$this->assertStringContainsString( 'Error: invalid-value: a value on the command line is visible', $err );
		$this->assertStringNotContainsString( 'a secret on the command line', $err );
		list( $exit ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'get', $name ) );
		$this->assertSame( 1, $exit, 'nothing was stored' );
	}

	/**
	 * A row of a status table by id.
	 *
	 * @param array  $status The status.
	 * @param string $id     Row id.
	 */
	private function row( array $status, string $id ): array {
		foreach ( $status['rows'] as $row ) {
			if ( $row['id'] === $id ) {
				return $row;
			}
		}
		$this->fail( "no row $id" );
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
		list( $exit, , $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'set', 'has space' ), 'x' );
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
