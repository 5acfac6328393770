<?php
/**
 * Plugin Name:       Keybridge
 * Plugin URI:        https://github.com/keybridge/keybridge
 * Description:       Keeps API tokens, passwords and encryption keys out of the database: values are wrapped on this host and stored in the keybridge key service; WordPress keeps only the wrapping keys.
 * Version:           {{version}}
 * Requires at least: 6.0
 * Requires PHP:      8.0
 * Author:            keybridge
 * License:           Apache-2.0
 * License URI:       https://www.apache.org/licenses/LICENSE-2.0
 * Text Domain:       keybridge
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

require_once __DIR__ . '/includes/autoload.php';

/*
 * Protected options are hooked as soon as this file loads, not on a later action: the plugin
 * that owns such an option may read it while it is itself being loaded.
 */
Keybridge_Protected_Options::hook_all();
// On a network, code that switches to another site reads that site's protected options.
add_action( 'switch_blog', array( 'Keybridge_Protected_Options', 'hook_all' ) );

/*
 * Callbacks named by class, so a class loads only when WordPress calls it: every page request
 * loads this file, most never reach Site Health or the REST API.
 */
add_filter( 'site_status_tests', array( 'Keybridge_Site_Health', 'add_tests' ) );
add_filter( 'debug_information', array( 'Keybridge_Site_Health', 'add_debug_information' ) );
add_action( 'rest_api_init', array( 'Keybridge_Rest', 'register_routes' ) );

if ( is_admin() && class_exists( 'Keybridge_Admin_Page' ) ) {
	Keybridge_Admin_Page::register();
}

if ( defined( 'WP_CLI' ) && WP_CLI ) {
	Keybridge_CLI_Command::add_commands();
}
