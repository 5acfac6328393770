<?php
/**
 * Keybridge_Agent_Proof: proving to the agent that this client holds its token, and checking
 * the agent's proof back, without the token ever being sent.
 *
 * @package Keybridge
 */

/**
 * The client's side of the local API's proofs (shims/spec.yaml `auth`; the agent's side is
 * sidecar/src/agent/http/auth.ts). Both ends compute one HMAC-SHA256 keyed by the token over
 * a label, the time, a fresh nonce, the request line and this end's address. The first
 * request of a connection carries its first half (`Authorization: Keybridge t=<ms>,
 * n=<nonce>, m=<half>`); the answer must carry the second half, which this client never
 * sent and only a holder of the token can make. Whoever holds the agent's address while the
 * agent is down learns a nonce, a time and half a MAC it can neither reverse nor replay.
 * Needs Keybridge_Spec loaded.
 */
final class Keybridge_Agent_Proof {

	/**
	 * The agent token (the HMAC key); never sent, never in a message.
	 *
	 * @var string
	 */
	private $token;

	/**
	 * A signer for one token.
	 *
	 * @param string $token The agent token, as read from its file.
	 */
	public function __construct( string $token ) {
		$this->token = $token;
	}

	/**
	 * How the agent names this end of a connection: the local address ("127.0.0.1:54321",
	 * "[::1]:54321") on TCP, "unix" on a unix socket (a client there has no address).
	 *
	 * @param resource $socket The connected socket.
	 * @param bool     $unix   Whether it is a unix socket.
	 * @return string The peer name.
	 */
	public static function peer( $socket, bool $unix ): string {
		return $unix ? 'unix' : (string) stream_socket_get_name( $socket, false );
	}

	/**
	 * The Authorization header value for one request, and the proof its answer must carry.
	 *
	 * @param string $method The request method.
	 * @param string $path   The request path.
	 * @param string $peer   This end of the connection (peer()).
	 * @return array authorization (the header value, with the MAC's first half) and expected
	 *               (the agent's proof: its second half).
	 */
	public function sign( string $method, string $path, string $peer ): array {
		$auth  = Keybridge_Spec::AUTH;
		$time  = sprintf( '%d', (int) floor( microtime( true ) * 1000 ) );
		$nonce = self::base64url( random_bytes( 16 ) );
		$mac   = hash_hmac( 'sha256', $auth['label'] . "\n" . $time . "\n" . $nonce . "\n" . $method . ' ' . $path . "\n" . $peer, $this->token, true );
		return array(
			'authorization' => $auth['scheme'] . ' t=' . $time . ', n=' . $nonce . ', m=' . self::base64url( substr( $mac, 0, 16 ) ),
			'expected'      => self::base64url( substr( $mac, 16 ) ),
		);
	}

	/**
	 * Whether an answer carried the agent's proof for a signed request.
	 *
	 * @param string      $expected The `expected` of sign().
	 * @param string|null $proof    The answer's proof header, if any.
	 * @return bool True when it matches (compared in constant time).
	 */
	public static function matches( string $expected, $proof ): bool {
		return is_string( $proof ) && hash_equals( $expected, $proof );
	}

	/**
	 * Base64url without padding.
	 *
	 * @param string $bytes Bytes.
	 * @return string The text.
	 */
	private static function base64url( string $bytes ): string {
		// phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode -- the scheme's encoding of a MAC and a nonce.
		return rtrim( strtr( base64_encode( $bytes ), '+/', '-_' ), '=' );
	}
}
