<?php
/**
 * Keybridge_Test_Agent: a real `keybridge up` for PHPUnit.
 *
 * @package Keybridge
 */

/**
 * Starts `node bin/keybridge.js up` in a fresh home (its own process group, so stop() ends
 * everything it started), waits for HOME/agent.url, and hands out clients for it.
 */
final class Keybridge_Test_Agent {

	/**
	 * How long `keybridge up` may take to come up on a busy machine.
	 */
	const START_TIMEOUT_S = 90;

	/**
	 * The agent's home (removed by stop()).
	 *
	 * @var string
	 */
	public $home;

	/**
	 * The agent address, as written to HOME/agent.url.
	 *
	 * @var string
	 */
	public $address = '';

	/**
	 * HOME/agent.token.
	 *
	 * @var string
	 */
	public $token_file;

	/**
	 * The proc_open handle.
	 *
	 * @var resource|null
	 */
	private $process;

	/**
	 * Process id of `node` (the leader of its own process group).
	 *
	 * @var int
	 */
	private $pid = 0;

	/**
	 * Starts an agent listening on a unix socket in its home ('unix') or on 127.0.0.1 with a
	 * free port ('tcp').
	 *
	 * @param string   $listen 'unix' or 'tcp'.
	 * @param string[] $extra  More `keybridge up` arguments, e.g. '--no-register'.
	 * @return self The running agent.
	 * @throws RuntimeException When it does not come up.
	 */
	public static function start( string $listen = 'unix', array $extra = array() ): self {
		$agent       = new self();
		$agent->home = sys_get_temp_dir() . '/kb-php-' . bin2hex( random_bytes( 4 ) );
		mkdir( $agent->home, 0700 );
		$agent->token_file = $agent->home . '/agent.token';
		$address           = 'unix' === $listen ? 'unix:' . $agent->home . '/a.sock' : '127.0.0.1:0';
		$command           = array( 'setsid', 'node', KEYBRIDGE_REPO_ROOT . '/bin/keybridge.js', 'up', '--home', $agent->home, '--listen', $address );
		$command           = array_merge( $command, $extra );
		$agent->process    = proc_open(
			$command,
			array(
				0 => array( 'file', '/dev/null', 'r' ),
				1 => array( 'file', $agent->home . '/up.out', 'w' ),
				2 => array( 'file', $agent->home . '/up.err', 'w' ),
			),
			$pipes,
			KEYBRIDGE_REPO_ROOT
		);
		if ( ! is_resource( $agent->process ) ) {
			throw new RuntimeException( 'could not start keybridge up' );
		}
		$agent->pid = (int) proc_get_status( $agent->process )['pid'];
		$deadline   = microtime( true ) + self::START_TIMEOUT_S;
		while ( microtime( true ) < $deadline ) {
			clearstatcache();
			if ( is_file( $agent->home . '/agent.url' ) ) {
				$agent->address = trim( (string) file_get_contents( $agent->home . '/agent.url' ) );
				if ( '' !== $agent->address ) {
					return $agent;
				}
			}
			if ( ! proc_get_status( $agent->process )['running'] ) {
				break;
			}
			usleep( 50000 );
		}
		$log = (string) file_get_contents( $agent->home . '/up.err' );
		$agent->stop();
		throw new RuntimeException( 'keybridge up did not come up: ' . $log );
	}

	/**
	 * A client for this agent.
	 *
	 * @param array $options Keybridge_Client options.
	 * @return Keybridge_Client The client.
	 */
	public function client( array $options = array() ): Keybridge_Client {
		return new Keybridge_Client( $this->address, $this->token_file, $options );
	}

	/**
	 * Whether the agent process still runs.
	 *
	 * @return bool True while it runs.
	 */
	public function running(): bool {
		return is_resource( $this->process ) && proc_get_status( $this->process )['running'];
	}

	/**
	 * The embedded account's password, which `keybridge up` keeps in its home.
	 *
	 * @return string The password.
	 */
	public function account_password(): string {
		return trim( (string) file_get_contents( $this->home . '/account.password' ) );
	}

	/**
	 * Stops the agent and removes its home.
	 */
	public function stop() {
		$this->stop_process();
		if ( is_string( $this->home ) && is_dir( $this->home ) ) {
			exec( 'rm -rf ' . escapeshellarg( $this->home ) );
		}
	}

	/**
	 * Stops the agent's process group (SIGTERM, then SIGKILL after 10 s); the home stays.
	 */
	public function stop_process() {
		if ( $this->pid > 0 && is_resource( $this->process ) ) {
			posix_kill( -$this->pid, SIGTERM );
			$deadline = microtime( true ) + 10;
			while ( $this->running() && microtime( true ) < $deadline ) {
				usleep( 50000 );
			}
			if ( $this->running() ) {
				posix_kill( -$this->pid, SIGKILL );
			}
			proc_close( $this->process );
			$this->process = null;
			$this->pid     = 0;
		}
	}
}
