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
 * One class per file: Keybridge_Foo_Bar lives in class-keybridge-foo-bar.php, under admin/ for
 * Keybridge_Admin_*, cli/ for Keybridge_CLI_* and includes/ for the rest. The folder comes from
 * the name, not from probing the disk: a file_exists() is a system call, and the first secret
 * read of a page loads a few classes (bench/php/README.md). The optional folders (the settings
 * page, the WP-CLI commands) are still checked, so a build without them loads.
 */
spl_autoload_register(
	static function ( $class_name ) {
		if ( 0 !== strpos( $class_name, 'Keybridge_' ) ) {
			return;
		}
		$file = 'class-' . str_replace( '_', '-', strtolower( $class_name ) ) . '.php';
		if ( 0 === strpos( $class_name, 'Keybridge_Admin_' ) ) {
			$path = dirname( __DIR__ ) . '/admin/' . $file;
		} elseif ( 0 === strpos( $class_name, 'Keybridge_CLI_' ) ) {
			$path = dirname( __DIR__ ) . '/cli/' . $file;
		} else {
			require_once __DIR__ . '/' . $file;
			return;
		}
		if ( file_exists( $path ) ) {
			require_once $path;
		}
	}
);

require_once __DIR__ . '/functions.php';
