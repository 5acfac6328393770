<?php
/**
 * Loads the REAL WordPress of fixtures/wordpress (with the built keybridge plugin active) into
 * the PHPUnit process.
 *
 *   fixtures/wordpress/up.sh /tmp/wp
 *   KEYBRIDGE_WP_ENV=/tmp/wp/env shims/vendor/bin/phpunit -c shims/phpunit.xml.dist --testsuite wordpress
 *
 * The fixture's site starts unregistered; whichever test runs first (this suite or the
 * browser test) registers it, so this file registers it only when the agent says it is not.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress.NamingConventions.PrefixAllGlobals -- test bootstrap, not plugin code.

require_once __DIR__ . '/class-keybridge-wp-fixture.php';

Keybridge_WP_Fixture::load_env( (string) getenv( 'KEYBRIDGE_WP_ENV' ) );

$_SERVER['HTTP_HOST']       = (string) parse_url( Keybridge_WP_Fixture::env( 'WP_URL' ), PHP_URL_HOST ) . ':' . (string) parse_url( Keybridge_WP_Fixture::env( 'WP_URL' ), PHP_URL_PORT );
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['REQUEST_METHOD']  = 'GET';

/*
 * PHPUnit includes this file inside a function, while WordPress expects to be loaded at the
 * top level: declare the globals its files set without a `global` statement of their own
 * (the list WordPress's own test bootstrap uses).
 */
global $wpdb, $current_site, $current_blog, $wp_rewrite, $shortcode_tags, $wp, $phpmailer, $wp_theme_directories, $wp_filter, $wp_actions, $wp_current_filter, $table_prefix;

require_once Keybridge_WP_Fixture::env( 'WP_PATH' ) . '/wp-load.php';

if ( ! class_exists( 'Keybridge_Keys' ) ) {
	fwrite( STDERR, "The keybridge plugin is not active in the fixture's WordPress.\n" );
	exit( 1 );
}

Keybridge_WP_Fixture::ensure_registered();
