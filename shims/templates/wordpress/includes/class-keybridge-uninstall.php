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
 * 2. the list of protected options is deleted once all are restored, and so are the constants
 *    map, the usage counts and the allow lists, and the constants loader in mu-plugins (a
 *    constant that is not defined any more is what a plugin sees before it is configured);
 * 3. values in the key service are kept, and so is `keybridge_keks` (without it they can never
 *    be opened again), unless the site owner defined KEYBRIDGE_UNINSTALL_DELETE_KEYS as true in
 *    wp-config.php: then each key is deleted in the vault first, then its KEK.
 *
 * On a network every site goes through these steps.
 */
class Keybridge_Uninstall {

	/**
	 * Runs the steps above; problems are logged (there is nobody to show them to).
	 *
	 * @return void
	 */
	public static function run() {
		Keybridge_Constants::uninstall_loader();
		if ( ! is_multisite() ) {
			self::run_for_site();
			return;
		}
		foreach ( get_sites(
			array(
				'fields' => 'ids',
				'number' => 0,
			)
		) as $site ) {
			switch_to_blog( $site );
			self::run_for_site();
			restore_current_blog();
		}
	}

	/**
	 * The steps for the current site.
	 *
	 * @return void
	 */
	private static function run_for_site() {
		$kept = self::restore_protected_options();
		if ( array() === $kept ) {
			delete_option( Keybridge_Protected_Options::OPTION );
		}
		foreach ( array( Keybridge_Constants::OPTION, Keybridge_Usage::OPTION, Keybridge_Usage::ACCESS_OPTION ) as $option ) {
			delete_option( $option );
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
		$keys = Keybridge_Keys::instance();
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
