<?php
/**
 * The round trips over the agent's unix socket.
 *
 * @package Keybridge
 */

require_once __DIR__ . '/ClientRoundTripTestCase.php';

/**
 * Keybridge_Client over unix:/path (a unix-domain socket).
 */
final class ClientUnixSocketTest extends ClientRoundTripTestCase {

	protected static function transport(): string {
		return 'unix';
	}

	public function test_the_agent_listens_on_a_unix_socket() {
		$this->assertStringStartsWith( 'unix:/', static::$agent->address );
	}
}
