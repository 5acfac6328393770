<?php
/**
 * The round trips over loopback TCP.
 *
 * @package Keybridge
 */

require_once __DIR__ . '/ClientRoundTripTestCase.php';

/**
 * Keybridge_Client over http://127.0.0.1:PORT.
 */
final class ClientTcpTest extends ClientRoundTripTestCase {

	protected static function transport(): string {
		return 'tcp';
	}

	public function test_the_agent_listens_on_loopback_tcp() {
		$this->assertMatchesRegularExpression( '#^http://127\.0\.0\.1:[0-9]+$#', static::$agent->address );
	}
}
