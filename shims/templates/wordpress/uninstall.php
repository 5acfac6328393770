<?php
/**
 * Runs when the plugin is deleted in Plugins (see Keybridge_Uninstall and readme.txt).
 *
 * @package Keybridge
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

require_once __DIR__ . '/includes/autoload.php';

Keybridge_Uninstall::run();
