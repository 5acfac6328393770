<?php
/**
 * What uninstalling the plugin does.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Uninstalling never loses a secret:
 *
 * 1. every protected option gets its value back in wp_options; one that cannot (agent
 *    unreachable) keeps its reference row and stays listed, so reinstalling the plugin reads it
 *    again;
 * 2. the list of protected options is deleted once all are restored (the plugin keeps no other
 *    options);
 * 3. values in the key service are kept, and so is `keybridge_keks` (without it they can never
 *    be opened again), unless the site owner defined KEYBRIDGE_UNINSTALL_DELETE_KEYS as true in
 *    wp-config.php: then each key is deleted in the vault first, then its KEK.
 */
class Keybridge_Uninstall {

	/**
	 * Runs the steps above; problems are logged (there is nobody to show them to).
	 *
	 * @return void
	 */
	public static function run() {
		$kept = self::restore_protected_options();
		if ( array() === $kept ) {
			delete_option( Keybridge_Protected_Options::OPTION );
		}
		if ( defined( 'KEYBRIDGE_UNINSTALL_DELETE_KEYS' ) && true === KEYBRIDGE_UNINSTALL_DELETE_KEYS ) {
			self::delete_keys( $kept );
		}
	}

	/**
	 * Puts each protected option's value back (keeping the copy in the vault).
	 *
	 * @return string[] The options that are still protected.
	 */
	private static function restore_protected_options() {
		$kept = array();
		foreach ( Keybridge_Protected_Options::names() as $option ) {
			try {
				Keybridge_Protected_Options::unprotect( $option, false );
			} catch ( Keybridge_Exception $e ) {
				keybridge_log_problem( 'uninstall: restore option', Keybridge_Protected_Options::key_name( $option ), $e );
				$kept[] = $option;
			}
		}
		return $kept;
	}

	/**
	 * Deletes every key this site holds a KEK for, vault first; the KEK option goes when
	 * every key is gone. Keys behind options still protected are kept.
	 *
	 * @param string[] $protected Options still protected.
	 * @return void
	 */
	private static function delete_keys( array $protected ) {
		$keep = array_map( array( 'Keybridge_Protected_Options', 'key_name' ), $protected );
		try {
			$keys = Keybridge_Keys::instance();
		} catch ( Keybridge_Exception $e ) {
			keybridge_log_problem( 'uninstall: delete keys', '', $e );
			return;
		}
		foreach ( Keybridge_Keks::names() as $name ) {
			if ( in_array( $name, $keep, true ) ) {
				continue;
			}
			try {
				$keys->delete( $name );
			} catch ( Keybridge_Exception $e ) {
				if ( 'key-not-found' !== $e->problem_type() ) {
					keybridge_log_problem( 'uninstall: delete key', $name, $e );
				}
			}
		}
		if ( array() === Keybridge_Keks::names() ) {
			delete_option( Keybridge_Keks::OPTION );
		}
	}
}
