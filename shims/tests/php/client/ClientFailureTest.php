<?php
/**
 * Keybridge_Client when configuration, token or agent are wrong.
 *
 * @package Keybridge
 */

use Yoast\PHPUnitPolyfills\TestCases\TestCase;

/**
 * Every client-side failure is a Keybridge_Exception of a client problem type, fast, and
 * names the address or file at fault without any secret.
 */
final class ClientFailureTest extends TestCase {

	/**
	 * Scratch folder.
	 *
	 * @var string
	 */
	private static $dir;

	/**
	 * A valid-looking token file.
	 *
	 * @var string
	 */
	private static $token_file;

	/**
	 * The token in it.
	 *
	 * @var string
	 */
	private static $token;

	/**
	 * The fake agent (scripted-agent.php, router mode): proc_open handle.
	 *
	 * @var resource|null
	 */
	private static $fake;

	/**
	 * The fake agent's address.
	 *
	 * @var string
	 */
	private static $fake_address;

	public static function set_up_before_class() {
		parent::set_up_before_class();
		self::$dir = sys_get_temp_dir() . '/kb-php-fail-' . bin2hex( random_bytes( 4 ) );
		mkdir( self::$dir, 0700 );
		self::$token      = rtrim( strtr( base64_encode( random_bytes( 32 ) ), '+/', '-_' ), '=' );
		self::$token_file = self::$dir . '/agent.token';
		file_put_contents( self::$token_file, self::$token . "\n" );
		chmod( self::$token_file, 0600 );
	}

	public static function tear_down_after_class() {
		if ( is_resource( self::$fake ) ) {
			$pid = (int) proc_get_status( self::$fake )['pid'];
			posix_kill( -$pid, SIGKILL );
			proc_close( self::$fake );
		}
		exec( 'rm -rf ' . escapeshellarg( self::$dir ) );
		parent::tear_down_after_class();
	}

	/**
	 * Calls $fn and returns the Keybridge_Exception it throws, checked for secrets.
	 *
	 * @param callable $fn What should fail.
	 * @return Keybridge_Exception The exception.
	 */
	private function failure( callable $fn ): Keybridge_Exception {
		try {
			$fn();
		} catch ( Keybridge_Exception $e ) {
			$this->assertStringNotContainsString( self::$token, $e->getMessage() );
			return $e;
		}
		$this->fail( 'expected a Keybridge_Exception' );
	}

	/**
	 * scripted-agent.php in its router mode (a broken agent, one misbehaviour per path) on a
	 * unix socket, holding this class's token.
	 *
	 * @return string Its address.
	 */
	private function fake_agent(): string {
		if ( is_resource( self::$fake ) ) {
			return self::$fake_address;
		}
		$socket     = self::$dir . '/fake.sock';
		self::$fake = proc_open(
			array( 'setsid', PHP_BINARY, __DIR__ . '/scripted-agent.php', $socket, 'router', self::$dir . '/fake.log', self::$token_file ),
			array(
				0 => array( 'file', '/dev/null', 'r' ),
				1 => array( 'file', '/dev/null', 'w' ),
				2 => array( 'file', '/dev/null', 'w' ),
			),
			$pipes
		);
		$deadline = microtime( true ) + 10;
		while ( ! file_exists( $socket ) && microtime( true ) < $deadline ) {
			usleep( 20000 );
		}
		self::$fake_address = 'unix:' . $socket;
		return self::$fake_address;
	}

	/**
	 * Addresses the client must refuse.
	 *
	 * @return array[] Data sets.
	 */
	public function bad_addresses(): array {
		return array(
			'empty'             => array( '' ),
			'remote host'       => array( 'http://example.com:8877' ),
			'https'             => array( 'https://127.0.0.1:8877' ),
			'no scheme'         => array( '127.0.0.1:8877' ),
			'other loopback ip' => array( 'http://127.0.0.2:8877' ),
			'no port'           => array( 'http://127.0.0.1' ),
			'port too large'    => array( 'http://127.0.0.1:70000' ),
			'port zero'         => array( 'http://127.0.0.1:0' ),
			'with a path'       => array( 'http://127.0.0.1:8877/v1' ),
			'relative socket'   => array( 'unix:agent.sock' ),
			'tcp scheme'        => array( 'tcp://127.0.0.1:8877' ),
			'user info'         => array( 'http://user@127.0.0.1:8877' ),
		);
	}

	/**
	 * An address that is not unix:/path or loopback http is not-configured.
	 *
	 * @dataProvider bad_addresses
	 * @param string $address The bad address.
	 */
	public function test_a_bad_agent_address_is_not_configured( string $address ) {
		$e = $this->failure(
			function () use ( $address ) {
				new Keybridge_Client( $address, self::$token_file );
			}
		);
		$this->assertSame( 'not-configured', $e->problem_type() );
		$this->assertSame( 0, $e->http_status() );
	}

	public function test_loopback_and_unix_addresses_are_accepted() {
		foreach ( array( 'unix:/run/keybridge/agent.sock', 'http://127.0.0.1:8877', 'http://localhost:8877', 'http://[::1]:8877', 'http://127.0.0.1:8877/' ) as $address ) {
			$this->assertSame( $address, ( new Keybridge_Client( $address, self::$token_file ) )->agent() );
		}
		$e = $this->failure(
			function () {
				new Keybridge_Client( 'unix:/x.sock', '' );
			}
		);
		$this->assertSame( 'not-configured', $e->problem_type() );
		$e = $this->failure(
			function () {
				new Keybridge_Client( 'unix:/x.sock', self::$token_file, array( 'timeout_ms' => 'soon' ) );
			}
		);
		$this->assertSame( 'not-configured', $e->problem_type() );
	}

	/**
	 * Token files the client cannot use.
	 *
	 * @return array[] Data sets: path suffix, content (null: do not create), expected message part.
	 */
	public function bad_token_files(): array {
		return array(
			'missing'       => array( 'missing.token', null, 'missing, unreadable or empty' ),
			'empty'         => array( 'empty.token', '', 'missing, unreadable or empty' ),
			'blank'         => array( 'blank.token', " \n", 'missing, unreadable or empty' ),
			'a directory'   => array( 'dir.token', 'DIR', 'missing, unreadable or empty' ),
			'not a token'   => array( 'header.token', "abc\r\nX-Injected: secret-header-value", 'does not hold a keybridge token' ),
		);
	}

	/**
	 * A missing, empty or malformed token file is token-file-unreadable; the message names the
	 * path and never the content.
	 *
	 * @dataProvider bad_token_files
	 * @param string      $name     File name.
	 * @param string|null $content  Content.
	 * @param string      $expected Message part.
	 */
	public function test_an_unusable_token_file_is_token_file_unreadable( string $name, $content, string $expected ) {
		$path = self::$dir . '/' . $name;
		if ( 'DIR' === $content ) {
			mkdir( $path );
		} elseif ( null !== $content ) {
			file_put_contents( $path, $content );
		}
		// The file is read on the first call that needs a token, not when the client is made.
		$client = new Keybridge_Client( 'unix:' . self::$dir . '/nothing.sock', $path );
		$e      = $this->failure( array( $client, 'status' ) );
		$this->assertSame( 'token-file-unreadable', $e->problem_type() );
		$this->assertStringContainsString( $path, $e->getMessage() );
		$this->assertStringContainsString( $expected, $e->getMessage() );
		$this->assertStringNotContainsString( 'secret-header-value', $e->getMessage() );
	}

	/**
	 * A mode 0000 token file. Root reads it anyway, so npm test (run as root in CI) runs this
	 * group again as the user nobody (scripts/runner/phpunit.mjs).
	 *
	 * @group unprivileged
	 */
	public function test_an_unreadable_token_file_is_token_file_unreadable() {
		if ( 0 === posix_geteuid() ) {
			$this->markTestSkipped( 'running as root, which reads a mode 0000 file anyway: npm test runs it as nobody' );
		}
		$path = self::$dir . '/locked.token';
		file_put_contents( $path, self::$token );
		chmod( $path, 0000 );
		$e = $this->failure( array( new Keybridge_Client( 'unix:/x.sock', $path ), 'status' ) );
		$this->assertSame( 'token-file-unreadable', $e->problem_type() );
	}

	public function test_nothing_listening_on_the_socket_is_agent_unreachable_at_once() {
		$address = 'unix:' . self::$dir . '/nobody-listens.sock';
		$client  = new Keybridge_Client( $address, self::$token_file );
		$start   = microtime( true );
		$e       = $this->failure( array( $client, 'status' ) );
		$this->assertLessThan( 1.0, microtime( true ) - $start );
		$this->assertSame( 'agent-unreachable', $e->problem_type() );
		$this->assertSame( 0, $e->http_status() );
		$this->assertStringContainsString( $address, $e->getMessage() );
	}

	public function test_a_closed_loopback_port_is_agent_unreachable_at_once() {
		$probe = stream_socket_server( 'tcp://127.0.0.1:0' );
		$port  = (int) substr( strrchr( stream_socket_get_name( $probe, false ), ':' ), 1 );
		fclose( $probe );
		$start = microtime( true );
		$e     = $this->failure( array( new Keybridge_Client( 'http://127.0.0.1:' . $port, self::$token_file ), 'health' ) );
		$this->assertLessThan( 1.0, microtime( true ) - $start );
		$this->assertSame( 'agent-unreachable', $e->problem_type() );
	}

	public function test_an_agent_that_accepts_but_never_answers_times_out() {
		// The kernel accepts connections into the backlog; nobody ever reads or answers.
		$path   = self::$dir . '/silent.sock';
		$server = stream_socket_server( 'unix://' . $path );
		$client = new Keybridge_Client( 'unix:' . $path, self::$token_file, array( 'timeout_ms' => 300 ) );
		$start  = microtime( true );
		$e      = $this->failure( array( $client, 'status' ) );
		$took   = microtime( true ) - $start;
		fclose( $server );
		$this->assertSame( 'agent-unreachable', $e->problem_type() );
		$this->assertStringContainsString( 'no answer within 300 ms', $e->getMessage() );
		$this->assertGreaterThan( 0.25, $took );
		$this->assertLessThan( 2.0, $took );
	}

	public function test_a_stopped_agent_is_agent_unreachable_on_the_same_client() {
		$agent  = Keybridge_Test_Agent::start( 'unix' );
		$client = $agent->client();
		try {
			$this->assertSame( 'ok', $client->health()['status'] );
			$this->assertArrayHasKey( 'rows', $client->status() );
			$agent->stop_process();
			$start = microtime( true );
			$e     = $this->failure( array( $client, 'status' ) );
			$this->assertLessThan( 1.0, microtime( true ) - $start );
			$this->assertSame( 'agent-unreachable', $e->problem_type() );
			$this->assertStringContainsString( $agent->address, $e->getMessage() );
		} finally {
			$agent->stop();
		}
	}

	public function test_answers_that_are_not_the_api_are_agent_response_invalid() {
		$client = new Keybridge_Client( $this->fake_agent(), self::$token_file );
		foreach ( array( 'health' => 200, 'status' => 200, 'keys_list' => 500 ) as $method => $status ) {
			$e = $this->failure( array( $client, $method ) );
			$this->assertSame( 'agent-response-invalid', $e->problem_type(), $method );
			$this->assertSame( $status, $e->http_status(), $method );
		}
	}

	public function test_a_problem_document_keeps_type_status_field_and_detail() {
		$client = new Keybridge_Client( $this->fake_agent(), self::$token_file );
		$e      = $this->failure(
			function () use ( $client ) {
				$client->keys_set( array( 'name' => '' ) );
			}
		);
		$this->assertSame( 'invalid-name', $e->problem_type() );
		$this->assertSame( 422, $e->http_status() );
		$this->assertSame( 'name', $e->field() );
		$this->assertSame( 'The key name is invalid: names are 1 to 200 characters', $e->getMessage() );
	}

	public function test_a_202_pending_is_a_normal_answer() {
		$client = new Keybridge_Client( $this->fake_agent(), self::$token_file );
		$this->assertSame( array( 'status' => 'pending' ), $client->production( array( 'password' => 'a long enough password' ) ) );
	}

	public function test_a_kek_goes_only_on_a_proven_connection_as_json_with_unescaped_slashes_and_never_with_the_token() {
		$client = new Keybridge_Client( $this->fake_agent(), self::$token_file );
		$echo   = $client->keys_get(
			array(
				'name'         => 'a/b/c',
				'wrapping_key' => 'kb1$x',
			)
		);
		$this->assertSame( '{"name":"a/b/c","wrapping_key":"kb1$x"}', $echo['body'] );
		// The handshake proved the connection: the request itself carries no authorization.
		$this->assertSame( '', $echo['authorization'] );
		$this->assertSame( 'application/json', $echo['content_type'] );
		$log = (string) file_get_contents( self::$dir . '/fake.log' );
		$this->assertStringContainsString( "GET /v1/health HTTP/1.1\n", $log, 'the handshake went first' );
		$this->assertStringNotContainsString( self::$token, $log );
	}

	public function test_a_slow_answer_is_agent_unreachable_after_the_timeout() {
		$client = new Keybridge_Client( $this->fake_agent(), self::$token_file, array( 'timeout_ms' => 400 ) );
		$start  = microtime( true );
		$e      = $this->failure(
			function () use ( $client ) {
				$client->keys_fetch( array( 'names' => array( 'x' ) ) );
			}
		);
		$this->assertSame( 'agent-unreachable', $e->problem_type() );
		$this->assertLessThan( 2.0, microtime( true ) - $start );
	}

	public function test_an_unknown_operation_id_is_refused_before_any_request() {
		$e = $this->failure(
			function () {
				( new Keybridge_Client( 'unix:/nowhere.sock', self::$token_file ) )->call( 'keys.steal' );
			}
		);
		$this->assertSame( 'not-found', $e->problem_type() );
	}
}
