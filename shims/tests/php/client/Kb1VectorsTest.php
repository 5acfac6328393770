<?php
/**
 * Keybridge_Kb1 against the vectors TypeScript is tested with.
 *
 * @package Keybridge
 */

use Yoast\PHPUnitPolyfills\TestCases\TestCase;

/**
 * sidecar/src/crypto/kb1.vectors.json: PHP must compute the same AAD and KEK id and open
 * every ciphertext; a wrong KEK is kek-mismatch, damage is ciphertext-invalid.
 */
final class Kb1VectorsTest extends TestCase {

	/**
	 * The shared vectors.
	 *
	 * @return array[] Data sets of one vector each.
	 */
	public function vectors(): array {
		$file    = KEYBRIDGE_REPO_ROOT . '/sidecar/src/crypto/kb1.vectors.json';
		$decoded = json_decode( (string) file_get_contents( $file ), true );
		$sets    = array();
		foreach ( $decoded['vectors'] as $index => $vector ) {
			$sets[ 'vector ' . $index ] = array( $vector );
		}
		return $sets;
	}

	/**
	 * Opens the vector and reproduces its AAD and KEK id.
	 *
	 * @dataProvider vectors
	 * @param array $v One vector.
	 */
	public function test_opens_the_shared_vector( array $v ) {
		$this->assertSame( $v['aad_hex'], bin2hex( Keybridge_Kb1::aad( $v['site_id'], $v['environment'], $v['key_id'] ) ) );
		$this->assertSame( $v['kek_id'], Keybridge_Kb1::kek_id( $v['kek'] ) );
		$plain = Keybridge_Kb1::open( $v['ciphertext'], $v['kek'], $v['site_id'], $v['environment'], $v['key_id'], $v['kek_id'] );
		$this->assertSame( $v['plaintext_hex'], bin2hex( $plain ) );
	}

	/**
	 * Both AES-GCM implementations (libsodium where the CPU has AES-NI, OpenSSL) open every
	 * vector and refuse a tampered one alike.
	 *
	 * @dataProvider vectors
	 * @param array $v One vector.
	 */
	public function test_sodium_and_openssl_open_the_vector_alike( array $v ) {
		$libraries = array( 'openssl' );
		if ( function_exists( 'sodium_crypto_aead_aes256gcm_is_available' ) && sodium_crypto_aead_aes256gcm_is_available() ) {
			$libraries[] = 'sodium';
		}
		$raw      = Keybridge_Kb1::ciphertext_bytes( $v['ciphertext'] );
		$tampered = $raw;
		$tampered[ strlen( $raw ) - 1 ] = chr( ord( $raw[ strlen( $raw ) - 1 ] ) ^ 0x80 );
		try {
			foreach ( $libraries as $library ) {
				Keybridge_Kb1::use_library( $library );
				$this->assertSame( $library, Keybridge_Kb1::library() );
				$plain = Keybridge_Kb1::open_raw( $raw, $v['kek'], $v['site_id'], $v['environment'], $v['key_id'], $v['kek_id'] );
				$this->assertSame( $v['plaintext_hex'], bin2hex( $plain ), $library );
				$this->assertSame( $v['ciphertext'], Keybridge_Kb1::ciphertext_text( $raw ) );
				try {
					Keybridge_Kb1::open_raw( $tampered, $v['kek'], $v['site_id'], $v['environment'], $v['key_id'], $v['kek_id'] );
					$this->fail( $library . ' opened a tampered tag' );
				} catch ( Keybridge_Exception $e ) {
					$this->assertSame( 'ciphertext-invalid', $e->problem_type(), $library );
				}
			}
		} finally {
			Keybridge_Kb1::use_library( null );
		}
	}

	public function test_refuses_an_unknown_aes_library() {
		$this->expectException( Keybridge_Exception::class );
		Keybridge_Kb1::use_library( 'mcrypt' );
	}

	/**
	 * A different KEK: kek-mismatch when the kek_id is known, else ciphertext-invalid.
	 *
	 * @dataProvider vectors
	 * @param array $v One vector.
	 */
	public function test_a_wrong_kek_is_told_apart_from_damage( array $v ) {
		$wrong = 'kb1$' . rtrim( strtr( base64_encode( str_repeat( "\x42", 32 ) ), '+/', '-_' ), '=' );
		$this->assertSame( 'kek-mismatch', $this->type_of( $v['ciphertext'], $wrong, $v, $v['kek_id'] ) );
		$this->assertSame( 'ciphertext-invalid', $this->type_of( $v['ciphertext'], $wrong, $v, '' ) );

		$raw      = base64_decode( strtr( substr( $v['ciphertext'], 4 ), '-_', '+/' ) );
		$raw[15]  = chr( ord( $raw[15] ) ^ 1 );
		$tampered = 'kb1.' . rtrim( strtr( base64_encode( $raw ), '+/', '-_' ), '=' );
		$this->assertSame( 'ciphertext-invalid', $this->type_of( $tampered, $v['kek'], $v, $v['kek_id'] ) );
		$this->assertSame( 'ciphertext-invalid', $this->type_of( substr( $v['ciphertext'], 0, 37 ), $v['kek'], $v, $v['kek_id'] ) );
		$this->assertSame( 'ciphertext-invalid', $this->type_of( $v['ciphertext'] . '=', $v['kek'], $v, $v['kek_id'] ) );
		$this->assertSame( 'ciphertext-invalid', $this->type_of( $v['ciphertext'] . 'A', $v['kek'], $v, $v['kek_id'] ) );
	}

	public function test_refuses_malformed_keks_and_aad_parts_without_echoing_them() {
		$v   = $this->vectors()['vector 1'][0];
		$bad = array( '', 'kb1$', 'kb2$' . substr( $v['kek'], 4 ), $v['kek'] . 'A', substr( $v['kek'], 0, -1 ), 'kb1$' . str_repeat( '+', 43 ) );
		foreach ( $bad as $kek ) {
			try {
				Keybridge_Kb1::open( $v['ciphertext'], $kek, $v['site_id'], $v['environment'], $v['key_id'] );
				$this->fail( 'accepted a malformed KEK' );
			} catch ( Keybridge_Exception $e ) {
				$this->assertSame( 'invalid-wrapping-key', $e->problem_type() );
				if ( strlen( $kek ) > 4 ) {
					$this->assertStringNotContainsString( substr( $kek, 4 ), $e->getMessage() );
				}
			}
		}
		foreach ( array( array( '', 'development', 'k' ), array( "a\0b", 'development', 'k' ), array( 's', 'staging', 'k' ), array( 's', 'development', '' ) ) as $parts ) {
			try {
				Keybridge_Kb1::aad( $parts[0], $parts[1], $parts[2] );
				$this->fail( 'accepted a bad AAD part' );
			} catch ( Keybridge_Exception $e ) {
				$this->assertSame( 'invalid-field', $e->problem_type() );
			}
		}
	}

	/**
	 * The problem type open() throws.
	 *
	 * @param string $ciphertext Ciphertext.
	 * @param string $kek        KEK string.
	 * @param array  $v          Vector (AAD parts).
	 * @param string $kek_id     Known KEK id or ''.
	 * @return string The problem type, or 'opened'.
	 */
	private function type_of( string $ciphertext, string $kek, array $v, string $kek_id ): string {
		try {
			Keybridge_Kb1::open( $ciphertext, $kek, $v['site_id'], $v['environment'], $v['key_id'], $kek_id );
			return 'opened';
		} catch ( Keybridge_Exception $e ) {
			$this->assertStringNotContainsString( substr( $kek, 4 ), $e->getMessage() );
			return $e->problem_type();
		}
	}
}
