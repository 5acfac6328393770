<?php
/**
 * Loads the plugin's classes on first use (shared by keybridge.php and uninstall.php).
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/*
 * One class per file: Keybridge_Foo_Bar lives in class-keybridge-foo-bar.php under includes/,
 * admin/ or cli/. An autoloader (rather than a list of requires) lets the plugin load whether or
 * not an optional part such as the settings page is present in this build.
 */
spl_autoload_register(
	static function ( $class_name ) {
		if ( 0 !== strpos( $class_name, 'Keybridge_' ) ) {
			return;
		}
		$file = 'class-' . str_replace( '_', '-', strtolower( $class_name ) ) . '.php';
		foreach ( array( 'includes', 'admin', 'cli' ) as $folder ) {
			$path = dirname( __DIR__ ) . '/' . $folder . '/' . $file;
			if ( file_exists( $path ) ) {
				require_once $path;
				return;
			}
		}
	}
);

require_once __DIR__ . '/functions.php';
