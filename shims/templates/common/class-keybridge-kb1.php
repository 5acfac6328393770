<?php
/**
 * Keybridge_Kb1: opens kb1 ciphertexts in PHP.
 *
 * @package Keybridge
 */

/**
 * Opens keybridge's native value wrap in-process, so a cached ciphertext becomes a value
 * without a call to the agent and the KEK never leaves PHP. The byte formats are those of
 * sidecar/src/crypto/kb1.ts; sidecar/src/crypto/kb1.vectors.json tests both languages.
 *
 *   KEK string   "kb1$" . base64url( 32-byte KEK )                 (no padding)
 *   ciphertext   "kb1." . base64url( nonce(12) . ct . tag(16) )    (AES-256-GCM)
 *   AAD          "kb1" 0x00 site_id 0x00 environment 0x00 key_id
 *   KEK id       base64url( first 16 bytes of HMAC-SHA256( KEK, "keybridge kek-id v1" ) )
 *
 * The KEK id is a public fingerprint the agent returns with each ciphertext: when a
 * ciphertext does not open, it tells a wrong KEK (kek-mismatch: the value was set under
 * another KEK, e.g. before a database copy) apart from a damaged ciphertext.
 *
 * AES-256-GCM comes from libsodium (PHP's bundled ext/sodium) where the CPU has AES-NI, else
 * from OpenSSL: both are audited libraries and both open the shared vectors. Why two: the
 * first openssl_decrypt() of a page request costs 30–45 µs here (OpenSSL 3 fetches the
 * cipher through its provider machinery, cold after WordPress's own start-up), libsodium's
 * AES-GCM about 6 µs, and the first secret read of a page is the figure that counts
 * (bench/php/README.md).
 */
final class Keybridge_Kb1 {

	const KEK_PREFIX        = 'kb1$';
	const CIPHERTEXT_PREFIX = 'kb1.';
	const KEK_BYTES         = 32;
	const NONCE_BYTES       = 12;
	const TAG_BYTES         = 16;
	const KEK_ID_INFO       = 'keybridge kek-id v1';
	const BASE64URL         = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

	/**
	 * KEK string => its 32 bytes, for this request only (never stored anywhere else): a key
	 * read several times in a request decodes its KEK once.
	 *
	 * @var array<string, string>
	 */
	private static $kek_bytes = array();

	/**
	 * The AES-GCM implementation in use: 'sodium' or 'openssl' (null: not chosen yet).
	 *
	 * @var string|null
	 */
	private static $library = null;

	/**
	 * Opens a kb1 ciphertext.
	 *
	 * @param string $ciphertext   "kb1." ciphertext as keys.fetch returned it.
	 * @param string $wrapping_key "kb1$" KEK string the CMS holds for this key.
	 * @param string $site_id      The site id keys.fetch returned.
	 * @param string $environment  'development' or 'production', as keys.fetch returned it.
	 * @param string $key_id       The opaque key id keys.fetch returned for the name.
	 * @param string $kek_id       The kek_id keys.fetch returned ('' if unknown: then a wrong
	 *                             KEK is reported as ciphertext-invalid).
	 * @return string The value's bytes.
	 * @throws Keybridge_Exception Type invalid-wrapping-key, invalid-field, kek-mismatch or ciphertext-invalid.
	 */
	public static function open( string $ciphertext, string $wrapping_key, string $site_id, string $environment, string $key_id, string $kek_id = '' ): string {
		return self::open_raw( self::decode_ciphertext( $ciphertext ), $wrapping_key, $site_id, $environment, $key_id, $kek_id );
	}

	/**
	 * Opens the bytes of a kb1 ciphertext (nonce . ct . tag, as Keybridge_Ciphertext_Cache keeps
	 * them: no base64 to undo on a cached read).
	 *
	 * @param string $raw          nonce(12) . ct . tag(16).
	 * @param string $wrapping_key "kb1$" KEK string the CMS holds for this key.
	 * @param string $site_id      The site id keys.fetch returned.
	 * @param string $environment  'development' or 'production'.
	 * @param string $key_id       The opaque key id keys.fetch returned for the name.
	 * @param string $kek_id       The kek_id keys.fetch returned ('' if unknown).
	 * @return string The value's bytes.
	 * @throws Keybridge_Exception Type invalid-wrapping-key, invalid-field, kek-mismatch or ciphertext-invalid.
	 */
	public static function open_raw( string $raw, string $wrapping_key, string $site_id, string $environment, string $key_id, string $kek_id = '' ): string {
		$kek = self::decode_kek( $wrapping_key );
		$aad = self::aad( $site_id, $environment, $key_id );
		if ( strlen( $raw ) >= self::NONCE_BYTES + self::TAG_BYTES ) {
			$value = self::decrypt( $raw, $kek, $aad );
			if ( false !== $value ) {
				return $value;
			}
		}
		if ( '' !== $kek_id && ! hash_equals( $kek_id, self::kek_id_of( $kek ) ) ) {
			throw new Keybridge_Exception( 'kek-mismatch', 'The value was set under a different wrapping key: set this key again in this environment', 409, 'wrapping_key' );
		}
		throw new Keybridge_Exception( 'ciphertext-invalid', 'The ciphertext is truncated, malformed or fails authentication', 422 );
	}

	/**
	 * The AES-GCM implementation this process uses: 'sodium' (libsodium, where the CPU has
	 * AES-NI) or 'openssl'.
	 *
	 * @return string
	 */
	public static function library(): string {
		if ( null === self::$library ) {
			self::$library = self::sodium_has_aes() ? 'sodium' : 'openssl';
		}
		return self::$library;
	}

	/**
	 * Whether libsodium offers AES-256-GCM here (it needs the CPU's AES-NI and CLMUL).
	 *
	 * @return bool
	 */
	private static function sodium_has_aes(): bool {
		return function_exists( 'sodium_crypto_aead_aes256gcm_is_available' ) && sodium_crypto_aead_aes256gcm_is_available();
	}

	/**
	 * Chooses the implementation (tests open every vector with both; null: choose again).
	 *
	 * @param string|null $library 'sodium', 'openssl' or null.
	 * @throws Keybridge_Exception Type invalid-field for another name or libsodium without AES-NI.
	 */
	public static function use_library( $library ) {
		if ( null !== $library && 'openssl' !== $library && ( 'sodium' !== $library || ! self::sodium_has_aes() ) ) {
			throw new Keybridge_Exception( 'invalid-field', 'AES-GCM library must be openssl, or sodium where it has AES-NI', 0, 'library' );
		}
		self::$library = $library;
	}

	/**
	 * AES-256-GCM decryption of nonce . ct . tag.
	 *
	 * @param string $raw At least 28 bytes.
	 * @param string $kek 32 bytes.
	 * @param string $aad Additional authenticated data.
	 * @return string|false The plaintext, or false when it does not authenticate.
	 */
	private static function decrypt( string $raw, string $kek, string $aad ) {
		$nonce = substr( $raw, 0, self::NONCE_BYTES );
		if ( 'sodium' === ( null === self::$library ? self::library() : self::$library ) ) {
			try {
				// ct . tag, as libsodium takes it.
				return sodium_crypto_aead_aes256gcm_decrypt( substr( $raw, self::NONCE_BYTES ), $aad, $nonce, $kek );
			} catch ( SodiumException $e ) {
				return false;
			}
		}
		return openssl_decrypt( substr( $raw, self::NONCE_BYTES, -self::TAG_BYTES ), 'aes-256-gcm', $kek, OPENSSL_RAW_DATA, $nonce, substr( $raw, -self::TAG_BYTES ), $aad );
	}

	/**
	 * Opens one key as keys.fetch (or Keybridge_Ciphertext_Cache) gives it.
	 *
	 * @param array  $entry        ciphertext, site_id, environment, key_id and kek_id.
	 * @param string $wrapping_key "kb1$" KEK string the CMS holds for this key.
	 * @return string The value's bytes.
	 * @throws Keybridge_Exception As open(); invalid-field when the entry lacks a field.
	 */
	public static function open_entry( array $entry, string $wrapping_key ): string {
		foreach ( array( 'ciphertext', 'site_id', 'environment', 'key_id' ) as $field ) {
			if ( ! isset( $entry[ $field ] ) || ! is_string( $entry[ $field ] ) ) {
				throw new Keybridge_Exception( 'invalid-field', 'A fetched key lacks its ' . $field, 0, $field );
			}
		}
		$kek_id = isset( $entry['kek_id'] ) && is_string( $entry['kek_id'] ) ? $entry['kek_id'] : '';
		return self::open( $entry['ciphertext'], $wrapping_key, $entry['site_id'], $entry['environment'], $entry['key_id'], $kek_id );
	}

	/**
	 * The public fingerprint of a KEK (22 characters).
	 *
	 * @param string $wrapping_key "kb1$" KEK string.
	 * @return string base64url of the first 16 bytes of HMAC-SHA256( KEK, "keybridge kek-id v1" ).
	 * @throws Keybridge_Exception Type invalid-wrapping-key.
	 */
	public static function kek_id( string $wrapping_key ): string {
		return self::kek_id_of( self::decode_kek( $wrapping_key ) );
	}

	/**
	 * The additional authenticated data that binds a ciphertext to its site, vault and key.
	 *
	 * @param string $site_id     Non-empty, no NUL byte.
	 * @param string $environment 'development' or 'production'.
	 * @param string $key_id      Non-empty, no NUL byte.
	 * @return string "kb1" 0x00 site_id 0x00 environment 0x00 key_id.
	 * @throws Keybridge_Exception Type invalid-field.
	 */
	public static function aad( string $site_id, string $environment, string $key_id ): string {
		if ( '' === $site_id || false !== strpos( $site_id, "\0" ) ) {
			throw new Keybridge_Exception( 'invalid-field', 'site_id must be a non-empty string without NUL', 0, 'site_id' );
		}
		if ( '' === $key_id || false !== strpos( $key_id, "\0" ) ) {
			throw new Keybridge_Exception( 'invalid-field', 'key_id must be a non-empty string without NUL', 0, 'key_id' );
		}
		if ( 'development' !== $environment && 'production' !== $environment ) {
			throw new Keybridge_Exception( 'invalid-field', 'environment must be development or production', 0, 'environment' );
		}
		return "kb1\0" . $site_id . "\0" . $environment . "\0" . $key_id;
	}

	/**
	 * The 32 KEK bytes of a "kb1$" string.
	 *
	 * @param string $wrapping_key The KEK string.
	 * @return string 32 bytes.
	 * @throws Keybridge_Exception Type invalid-wrapping-key (the message never repeats the input).
	 */
	private static function decode_kek( string $wrapping_key ): string {
		if ( isset( self::$kek_bytes[ $wrapping_key ] ) ) {
			return self::$kek_bytes[ $wrapping_key ];
		}
		if ( 0 !== strpos( $wrapping_key, self::KEK_PREFIX ) ) {
			throw new Keybridge_Exception( 'invalid-wrapping-key', 'The wrapping key is not a valid kb1 key string: expected "kb1$" first', 0, 'wrapping_key' );
		}
		$kek = self::from_base64url( substr( $wrapping_key, strlen( self::KEK_PREFIX ) ) );
		if ( null === $kek || self::KEK_BYTES !== strlen( $kek ) ) {
			throw new Keybridge_Exception( 'invalid-wrapping-key', 'The wrapping key is not a valid kb1 key string: not 32 bytes of base64url after "kb1$"', 0, 'wrapping_key' );
		}
		self::$kek_bytes[ $wrapping_key ] = $kek;
		return $kek;
	}

	/**
	 * The nonce . ct . tag bytes of a "kb1." ciphertext.
	 *
	 * @param string $ciphertext The ciphertext string.
	 * @return string At least 28 bytes.
	 * @throws Keybridge_Exception Type ciphertext-invalid.
	 */
	private static function decode_ciphertext( string $ciphertext ): string {
		$raw = 0 === strpos( $ciphertext, self::CIPHERTEXT_PREFIX )
			? self::from_base64url( substr( $ciphertext, strlen( self::CIPHERTEXT_PREFIX ) ) )
			: null;
		if ( null === $raw || strlen( $raw ) < self::NONCE_BYTES + self::TAG_BYTES ) {
			throw new Keybridge_Exception( 'ciphertext-invalid', 'The ciphertext is truncated, malformed or fails authentication: not a kb1 ciphertext', 422 );
		}
		return $raw;
	}

	/**
	 * The bytes of a "kb1." ciphertext, for callers that keep them (the ciphertext cache).
	 *
	 * @param string $ciphertext The ciphertext string.
	 * @return string nonce . ct . tag.
	 * @throws Keybridge_Exception Type ciphertext-invalid.
	 */
	public static function ciphertext_bytes( string $ciphertext ): string {
		return self::decode_ciphertext( $ciphertext );
	}

	/**
	 * The "kb1." text of ciphertext bytes.
	 *
	 * @param string $raw nonce . ct . tag.
	 * @return string The ciphertext string.
	 */
	public static function ciphertext_text( string $raw ): string {
		return self::CIPHERTEXT_PREFIX . self::to_base64url( $raw );
	}

	/**
	 * The fingerprint of raw KEK bytes.
	 *
	 * @param string $kek 32 bytes.
	 * @return string 22 characters of base64url.
	 */
	private static function kek_id_of( string $kek ): string {
		return self::to_base64url( substr( hash_hmac( 'sha256', self::KEK_ID_INFO, $kek, true ), 0, 16 ) );
	}

	/**
	 * Strict base64url (RFC 4648 section 5, no padding): only the canonical spelling is accepted.
	 *
	 * @param string $text base64url text.
	 * @return string|null The bytes, or null when the text is not canonical base64url.
	 */
	private static function from_base64url( string $text ) {
		$tail = strlen( $text ) % 4;
		if ( 1 !== preg_match( '/^[A-Za-z0-9_-]*$/', $text ) || 1 === $tail ) {
			return null;
		}
		// Canonical text only: the bits the last character holds beyond the last byte must be
		// zero (4 of them after a 2-character tail, 2 after a 3-character one), so each byte
		// string has exactly one accepted text.
		if ( 0 !== $tail && 0 !== ( strpos( self::BASE64URL, substr( $text, -1 ) ) & ( 2 === $tail ? 15 : 3 ) ) ) {
			return null;
		}
		// phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode -- decoding a ciphertext, not hiding code.
		$bytes = base64_decode( strtr( $text, '-_', '+/' ), true );
		return false === $bytes ? null : $bytes;
	}

	/**
	 * Encodes base64url without padding.
	 *
	 * @param string $bytes Any bytes.
	 * @return string The text.
	 */
	private static function to_base64url( string $bytes ): string {
		// phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode -- encoding a fingerprint, not hiding code.
		return rtrim( strtr( base64_encode( $bytes ), '+/', '-_' ), '=' );
	}
}
