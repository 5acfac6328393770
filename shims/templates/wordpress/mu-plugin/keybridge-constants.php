<?php
/**
 * Loader Name: Keybridge constants
 * Description: Defines the PHP constants mapped to keybridge keys (Settings → Keybridge, or wp keybridge constant map) before ordinary plugins load. Written by the keybridge plugin, which removes it when uninstalled.
 * Version:     {{version}}
 *
 * The keybridge plugin copies this file to wp-content/mu-plugins/ (and makes its first header
 * "Plugin Name" there: here, in the plugin's folder, WordPress would list it as a second
 * plugin to activate), which WordPress loads before
 * ordinary plugins: a plugin that reads its secret from a constant finds it defined. A constant
 * already defined (in wp-config.php) is left as it is. Nothing happens while keybridge is not
 * active on this site.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

$keybridge_constants_plugin = 'keybridge/keybridge.php';
if ( in_array( $keybridge_constants_plugin, (array) get_option( 'active_plugins', array() ), true )
	|| ( is_multisite() && array_key_exists( $keybridge_constants_plugin, (array) get_site_option( 'active_sitewide_plugins', array() ) ) ) ) {
	require_once WP_PLUGIN_DIR . '/' . dirname( $keybridge_constants_plugin ) . '/includes/autoload.php';
	Keybridge_Constants::define_all();
}
unset( $keybridge_constants_plugin );
