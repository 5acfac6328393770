<?php
/**
 * Plugin Name: keybridge bench: the floor of a secret read
 * Description: Installed as a must-use plugin by bench/php/page-requests.ts on the bench's own
 * throwaway fixture only. keybridge_bench_floor_read() is the least any read of a value kept
 * encrypted in APCu can cost a page: one call into a plugin's function, one apcu_fetch() of
 * nonce . ciphertext . tag under a short key, one libsodium AES-256-GCM open with the 32-byte
 * key already in hand. No name, no KEK lookup, no expiry or vault check, no attribution: what
 * keybridge_get_key() adds to it is the table's difference between the two rows.
 *
 * @package keybridge
 */

/**
 * The floor read: its value (40 bytes), or null before keybridge_bench_floor_store() ran.
 *
 * @return string|null
 */
function keybridge_bench_floor_read() {
	$bytes = apcu_fetch( 'keybridge-bench:floor' );
	if ( ! is_string( $bytes ) ) {
		return null;
	}
	return sodium_crypto_aead_aes256gcm_decrypt( substr( $bytes, 12 ), 'keybridge-bench:floor', substr( $bytes, 0, 12 ), $GLOBALS['keybridge_bench_floor_key'] );
}

/**
 * Puts the floor's ciphertext into APCu (no expiry), for a value of the key's size.
 *
 * @param string $value The value to keep encrypted.
 * @return void
 */
function keybridge_bench_floor_store( $value ) {
	$nonce = random_bytes( 12 );
	apcu_store( 'keybridge-bench:floor', $nonce . sodium_crypto_aead_aes256gcm_encrypt( $value, 'keybridge-bench:floor', $nonce, $GLOBALS['keybridge_bench_floor_key'] ) );
}

// The key in hand, as a page that held it would have it: made when this file loads, untimed.
$GLOBALS['keybridge_bench_floor_key'] = str_repeat( "\x6b", 32 );
