<?php
/**
 * Where the plugin finds its agent.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Builds the one agent client a request uses, from the constants in wp-config.php.
 */
class Keybridge_Plugin {

	/**
	 * The client of this request (one agent connection, kept open between calls).
	 *
	 * @var Keybridge_Client|null
	 */
	private static $client = null;

	/**
	 * The agent client configured by KEYBRIDGE_AGENT and KEYBRIDGE_TOKEN_FILE.
	 *
	 * @return Keybridge_Client
	 * @throws Keybridge_Exception Type `not-configured` when a constant is missing or empty.
	 */
	public static function client() {
		if ( null === self::$client ) {
			if ( ! self::is_configured() ) {
				throw new Keybridge_Exception( 'not-configured', self::not_configured_message() );
			}
			self::$client = new Keybridge_Client( KEYBRIDGE_AGENT, KEYBRIDGE_TOKEN_FILE, array( 'persistent' => self::persistent_connection() ) );
		}
		return self::$client;
	}

	/**
	 * Whether KEYBRIDGE_PERSISTENT_CONNECTION is true in wp-config.php: the agent connection
	 * then stays open after the request for the next one this PHP process serves (php-fpm),
	 * and a read with an empty cache costs no connect. Off by default.
	 *
	 * @return bool
	 */
	public static function persistent_connection() {
		return defined( 'KEYBRIDGE_PERSISTENT_CONNECTION' ) && true === KEYBRIDGE_PERSISTENT_CONNECTION;
	}

	/**
	 * Whether both constants are defined and non-empty strings.
	 *
	 * @return bool
	 */
	public static function is_configured() {
		return defined( 'KEYBRIDGE_AGENT' ) && is_string( KEYBRIDGE_AGENT ) && '' !== KEYBRIDGE_AGENT
			&& defined( 'KEYBRIDGE_TOKEN_FILE' ) && is_string( KEYBRIDGE_TOKEN_FILE ) && '' !== KEYBRIDGE_TOKEN_FILE;
	}

	/**
	 * The agent address shown in messages (an address, never the token).
	 *
	 * @return string
	 */
	public static function agent_address() {
		return defined( 'KEYBRIDGE_AGENT' ) && is_string( KEYBRIDGE_AGENT ) ? KEYBRIDGE_AGENT : '';
	}

	/**
	 * What to do when the constants are missing.
	 *
	 * @return string
	 */
	private static function not_configured_message() {
		return __( 'keybridge is not configured: define KEYBRIDGE_AGENT and KEYBRIDGE_TOKEN_FILE in wp-config.php (keybridge up prints both lines).', 'keybridge' );
	}
}
