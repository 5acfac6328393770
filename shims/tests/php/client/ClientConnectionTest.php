<?php
/**
 * Keybridge_Client's HTTP/1.1 connection against an agent that misbehaves on purpose.
 *
 * @package Keybridge
 */

use Yoast\PHPUnitPolyfills\TestCases\TestCase;

/**
 * The kept connection and the answer framing: a connection the agent closed is replaced
 * without the caller noticing, but a request is never sent twice once an answer began; an
 * answer cut short is agent-response-invalid at once, not a hang; large, chunked and
 * read-until-close answers come through whole. The peer is scripted-agent.php.
 */
final class ClientConnectionTest extends TestCase {

	/**
	 * Scratch folder (socket, token, request log).
	 *
	 * @var string
	 */
	private $dir;

	/**
	 * The scripted agent's proc_open handle.
	 *
	 * @var resource|null
	 */
	private $process;

	public function set_up() {
		parent::set_up();
		$this->dir = sys_get_temp_dir() . '/kb-php-conn-' . bin2hex( random_bytes( 4 ) );
		mkdir( $this->dir, 0700 );
		file_put_contents( $this->dir . '/agent.token', rtrim( strtr( base64_encode( random_bytes( 32 ) ), '+/', '-_' ), '=' ) );
	}

	public function tear_down() {
		if ( is_resource( $this->process ) ) {
			$pid = (int) proc_get_status( $this->process )['pid'];
			posix_kill( -$pid, SIGKILL );
			proc_close( $this->process );
		}
		exec( 'rm -rf ' . escapeshellarg( $this->dir ) );
		parent::tear_down();
	}

	/**
	 * Starts scripted-agent.php in a mode and returns a client for it.
	 *
	 * @param string $mode    See scripted-agent.php.
	 * @param array  $options More client options.
	 * @return Keybridge_Client A client with a 2 s timeout.
	 */
	private function agent( string $mode, array $options = array() ): Keybridge_Client {
		$socket        = $this->dir . '/agent.sock';
		$this->process = proc_open(
			array( 'setsid', PHP_BINARY, __DIR__ . '/scripted-agent.php', $socket, $mode, $this->dir . '/requests.log', $this->dir . '/agent.token' ),
			array(
				0 => array( 'file', '/dev/null', 'r' ),
				1 => array( 'file', '/dev/null', 'w' ),
				2 => array( 'file', $this->dir . '/agent.err', 'w' ),
			),
			$pipes
		);
		$deadline = microtime( true ) + 10;
		while ( ! file_exists( $socket ) && microtime( true ) < $deadline ) {
			usleep( 20000 );
		}
		$this->assertFileExists( $socket, 'the scripted agent did not start' );
		return $this->client( $options );
	}

	/**
	 * Another client for the running scripted agent.
	 *
	 * @param array $options More client options.
	 * @return Keybridge_Client A client with a 2 s timeout.
	 */
	private function client( array $options = array() ): Keybridge_Client {
		return new Keybridge_Client( 'unix:' . $this->dir . '/agent.sock', $this->dir . '/agent.token', $options + array( 'timeout_ms' => 2000 ) );
	}

	/**
	 * The request lines the scripted agent read, each with its connection number.
	 *
	 * @return string[] Lines such as "1 GET /v1/health HTTP/1.1".
	 */
	private function requests(): array {
		$log = $this->dir . '/requests.log';
		return is_file( $log ) ? explode( "\n", trim( (string) file_get_contents( $log ) ) ) : array();
	}

	/**
	 * Calls $fn, expects a Keybridge_Exception quickly.
	 *
	 * @param callable $fn What should fail.
	 * @return Keybridge_Exception The exception.
	 */
	private function failure( callable $fn ): Keybridge_Exception {
		$start = microtime( true );
		try {
			$fn();
		} catch ( Keybridge_Exception $e ) {
			$this->assertLessThan( 1.0, microtime( true ) - $start, 'failed fast, not at the timeout' );
			return $e;
		}
		$this->fail( 'expected a Keybridge_Exception' );
	}

	/**
	 * Peers that cannot prove they hold the token: no proof, a proof made with another token.
	 *
	 * @return array[] Data sets: the scripted agent's mode.
	 */
	public function impostors(): array {
		return array(
			'no proof'    => array( 'no-proof' ),
			'wrong proof' => array( 'wrong-proof' ),
		);
	}

	/**
	 * A peer that does not prove itself gets no secret and its answers are not used.
	 *
	 * @dataProvider impostors
	 * @param string $mode The scripted agent's mode.
	 */
	public function test_an_impostor_gets_no_secret_and_its_answers_are_not_used( string $mode ) {
		$client = $this->agent( $mode );
		$e      = $this->failure(
			function () use ( $client ) {
				$client->keys_set(
					array(
						'name'  => 'a',
						'value' => 'secret-value',
					)
				);
			}
		);
		$this->assertSame( 'agent-unproven', $e->problem_type() );
		// Only the handshake went out: the value never did.
		$this->assertSame( array( '1 GET /v1/health HTTP/1.1' ), $this->requests() );
		// A page read sends names only, first; its answer is dropped.
		$e = $this->failure(
			function () use ( $client ) {
				$client->keys_fetch( array( 'names' => array( 'a' ) ) );
			}
		);
		$this->assertSame( 'agent-unproven', $e->problem_type() );
		$this->assertStringNotContainsString( '"connection"', $e->getMessage() );
	}

	public function test_a_refusal_without_a_proof_is_unauthorized_and_its_text_is_not_repeated() {
		$client = $this->agent( 'refuse' );
		$e      = $this->failure(
			function () use ( $client ) {
				$client->keys_fetch( array( 'names' => array( 'a' ) ) );
			}
		);
		$this->assertSame( 'unauthorized', $e->problem_type() );
		$this->assertSame( 401, $e->http_status() );
		$this->assertStringContainsString( $this->dir . '/agent.token', $e->getMessage() );
		$this->assertStringNotContainsString( '555', $e->getMessage() );
	}

	public function test_a_kept_connection_the_agent_closed_is_replaced_silently() {
		$client = $this->agent( 'close-after-each' );
		foreach ( range( 1, 3 ) as $call ) {
			$answer = $client->health();
			$this->assertSame( $call, $answer['connection'], 'a new connection for each call' );
		}
		$this->assertCount( 3, $this->requests(), 'each request sent once' );
	}

	public function test_a_request_the_agent_dropped_unanswered_is_sent_once_more_on_a_new_connection() {
		$client = $this->agent( 'drop-second' );
		$this->assertSame( 1, $client->keys_fetch( array( 'names' => array( 'a' ) ) )['connection'] );
		// The second request on connection 1 is read and dropped without a byte of answer.
		$answer = $client->keys_fetch( array( 'names' => array( 'a' ) ) );
		$this->assertSame( 2, $answer['connection'] );
		$this->assertSame( 1, $answer['request'] );
		$this->assertSame( array( '1 POST /v1/keys/fetch HTTP/1.1', '1 POST /v1/keys/fetch HTTP/1.1', '2 POST /v1/keys/fetch HTTP/1.1' ), $this->requests() );
	}

	public function test_an_answer_cut_in_its_head_is_invalid_and_the_request_is_not_sent_again() {
		$client = $this->agent( 'cut-head-second' );
		$client->status();
		$e = $this->failure( array( $client, 'status' ) );
		$this->assertSame( 'agent-response-invalid', $e->problem_type() );
		$this->assertStringContainsString( 'closed in the middle of the answer head', $e->getMessage() );
		$this->assertCount( 2, $this->requests(), 'no third request: an answer had begun' );
		// The client is usable again afterwards, on a new connection.
		$this->assertSame( 2, $client->status()['connection'] );
	}

	public function test_an_answer_cut_in_its_body_is_invalid_at_once() {
		$client = $this->agent( 'cut-body' );
		$e      = $this->failure(
			function () use ( $client ) {
				$client->keys_fetch( array( 'names' => array( 'a' ) ) );
			}
		);
		$this->assertSame( 'agent-response-invalid', $e->problem_type() );
		$this->assertStringContainsString( 'after 10 of 100 bytes', $e->getMessage() );
		$this->assertCount( 1, $this->requests() );
	}

	public function test_a_64_kib_answer_arrives_whole() {
		$client = $this->agent( 'large' );
		foreach ( range( 1, 2 ) as $call ) {
			$answer = $client->keys_list();
			$this->assertSame( str_repeat( 'x', 65536 ), $answer['filler'] );
		}
		$this->assertSame( array( '1 GET /v1/keys HTTP/1.1', '1 GET /v1/keys HTTP/1.1' ), $this->requests(), 'kept connection' );
	}

	public function test_a_chunked_answer_is_joined() {
		$client = $this->agent( 'chunked' );
		$this->assertSame( array( 'status' => 'ok' ), $client->health() );
		$this->assertSame( array( 'status' => 'ok' ), $client->health() );
		$this->assertSame( array( '1 GET /v1/health HTTP/1.1', '1 GET /v1/health HTTP/1.1' ), $this->requests() );
	}

	public function test_an_answer_without_length_ends_when_the_agent_closes() {
		$client = $this->agent( 'until-close' );
		$this->assertSame( array( 'status' => 'ok' ), $client->health() );
		$this->assertSame( array( 'status' => 'ok' ), $client->health() );
		$this->assertSame( array( '1 GET /v1/health HTTP/1.1', '2 GET /v1/health HTTP/1.1' ), $this->requests() );
	}

	public function test_a_persistent_connection_serves_the_next_client_of_the_process() {
		$first = $this->agent( 'keep', array( 'persistent' => true ) );
		$this->assertSame( 1, $first->health()['connection'] );
		$first = null; // As at the end of a request: the client goes, the socket stays.
		$answer = $this->client( array( 'persistent' => true ) )->health();
		$this->assertSame( array( 1, 2 ), array( $answer['connection'], $answer['request'] ) );
		$answer = $this->client( array( 'persistent' => true ) )->health();
		$this->assertSame( array( 1, 3 ), array( $answer['connection'], $answer['request'] ) );
	}

	public function test_a_persistent_connection_the_agent_closed_is_replaced_silently() {
		foreach ( range( 1, 3 ) as $call ) {
			$client = 1 === $call ? $this->agent( 'close-after-each', array( 'persistent' => true ) ) : $this->client( array( 'persistent' => true ) );
			$this->assertSame( $call, $client->health()['connection'] );
		}
		$this->assertCount( 3, $this->requests() );
	}

	public function test_two_persistent_clients_share_the_socket_without_stepping_on_each_other() {
		$one = $this->agent( 'cut-head-second', array( 'persistent' => true ) );
		$two = $this->client( array( 'persistent' => true ) );
		$this->assertSame( 1, $one->health()['connection'] );
		// The shared socket's second answer is cut: that client closes it...
		$this->assertSame( 'agent-response-invalid', $this->failure( array( $two, 'health' ) )->problem_type() );
		// ...and the other client notices and opens a new one instead of failing.
		$this->assertSame( 2, $one->health()['connection'] );
	}
}
