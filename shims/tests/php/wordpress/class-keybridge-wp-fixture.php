<?php
/**
 * What the WordPress tests share: the fixture's env file, the agent's start and stop, the
 * registration, unique names, WP-CLI runs.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress -- test helper, not plugin code.

/**
 * The fixture of fixtures/wordpress/up.sh, as the tests see it.
 */
final class Keybridge_WP_Fixture {

	/**
	 * KEY => VALUE from the env file.
	 *
	 * @var array<string, string>
	 */
	private static $env = array();

	/**
	 * Reads DIR/env (KEY=VALUE lines) written by fixtures/wordpress/up.sh.
	 *
	 * @param string $file Path of the env file.
	 */
	public static function load_env( string $file ): void {
		if ( '' === $file || ! is_readable( $file ) ) {
			fwrite( STDERR, "Set KEYBRIDGE_WP_ENV to the env file of a running fixtures/wordpress/up.sh DIR (DIR/env); got '$file'.\n" );
			exit( 1 );
		}
		foreach ( file( $file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES ) as $line ) {
			$at = strpos( $line, '=' );
			if ( false !== $at ) {
				self::$env[ substr( $line, 0, $at ) ] = substr( $line, $at + 1 );
			}
		}
		foreach ( array( 'WP_PATH', 'WP_URL', 'KEYBRIDGE_AGENT', 'KEYBRIDGE_TOKEN_FILE', 'WP_FIXTURE_DIR' ) as $needed ) {
			if ( ! isset( self::$env[ $needed ] ) ) {
				fwrite( STDERR, "$file has no $needed line.\n" );
				exit( 1 );
			}
		}
	}

	/**
	 * One value from the env file.
	 *
	 * @param string $key Name.
	 */
	public static function env( string $key ): string {
		return self::$env[ $key ] ?? '';
	}

	/**
	 * The repository's root.
	 */
	public static function repo(): string {
		return dirname( __DIR__, 4 );
	}

	/**
	 * Registers the site with a test account unless someone (the browser test) already did.
	 */
	public static function ensure_registered(): void {
		$client = new Keybridge_Client( self::env( 'KEYBRIDGE_AGENT' ), self::env( 'KEYBRIDGE_TOKEN_FILE' ) );
		if ( true === $client->status()['registered'] ) {
			return;
		}
		try {
			$client->register(
				array(
					'email'     => 'phpunit-' . bin2hex( random_bytes( 4 ) ) . '@example.com',
					'password'  => 'phpunit password ' . bin2hex( random_bytes( 8 ) ),
					'site_name' => 'keybridge phpunit',
				)
			);
		} catch ( Keybridge_Exception $e ) {
			// Another test registered it in the meantime: that is all we need.
			if ( 'already-registered' !== $e->problem_type() ) {
				throw $e;
			}
		}
	}

	/**
	 * The status table of a fresh, unregistered agent (a real `keybridge up --no-register` of
	 * its own, stopped again): the rows a site owner sees before registering.
	 */
	public static function unregistered_status(): array {
		require_once dirname( __DIR__ ) . '/client/class-keybridge-test-agent.php';
		$agent = Keybridge_Test_Agent::start( 'unix', array( '--no-register' ) );
		try {
			return $agent->client()->status();
		} finally {
			$agent->stop();
		}
	}

	/**
	 * A key or option name no earlier run (nor the browser test) has used.
	 *
	 * @param string $prefix Readable part.
	 */
	public static function unique( string $prefix ): string {
		return $prefix . '-' . bin2hex( random_bytes( 5 ) );
	}

	/**
	 * Stops or starts the fixture's agent (fixtures/wordpress/agent.sh).
	 *
	 * @param string $action 'stop' or 'start'.
	 */
	public static function agent( string $action ): void {
		$script = self::repo() . '/fixtures/wordpress/agent.sh';
		exec( escapeshellarg( $script ) . ' ' . escapeshellarg( $action ) . ' ' . escapeshellarg( self::env( 'WP_FIXTURE_DIR' ) ) . ' 2>&1', $output, $status );
		if ( 0 !== $status ) {
			throw new RuntimeException( "agent.sh $action failed: " . implode( "\n", $output ) );
		}
	}

	/**
	 * How many requests for a path the agent has logged (DIR/logs/agent.log: one JSON line per
	 * request, no bodies). Waits until the count stops changing, as the log is written
	 * asynchronously.
	 *
	 * @param string $path E.g. /v1/keys/fetch.
	 */
	public static function agent_requests( string $path ): int {
		$log   = self::env( 'WP_LOG_DIR' ) . '/agent.log';
		$count = -1;
		for ( $i = 0; $i < 20; $i++ ) {
			clearstatcache();
			$now = substr_count( (string) file_get_contents( $log ), '"path":"' . $path . '"' );
			if ( $now === $count ) {
				return $now;
			}
			$count = $now;
			usleep( 100000 );
		}
		return $count;
	}

	/**
	 * Runs `wp …` (WP-CLI from shims/vendor) against the fixture's site as a real process.
	 *
	 * @param string[]    $args  Arguments after `wp`.
	 * @param string|null $stdin What to write to its stdin.
	 * @return array{0: int, 1: string, 2: string} Exit code, stdout, stderr.
	 */
	public static function wp( array $args, ?string $stdin = null ): array {
		$command = array_merge(
			array( PHP_BINARY, self::repo() . '/shims/vendor/wp-cli/wp-cli/php/boot-fs.php', '--path=' . self::env( 'WP_PATH' ), '--allow-root' ),
			$args
		);
		$process = proc_open( $command, array( 0 => array( 'pipe', 'r' ), 1 => array( 'pipe', 'w' ), 2 => array( 'pipe', 'w' ) ), $pipes );
		if ( null !== $stdin ) {
			fwrite( $pipes[0], $stdin );
		}
		fclose( $pipes[0] );
		$out = stream_get_contents( $pipes[1] );
		$err = stream_get_contents( $pipes[2] );
		fclose( $pipes[1] );
		fclose( $pipes[2] );
		return array( proc_close( $process ), (string) $out, (string) $err );
	}
}
