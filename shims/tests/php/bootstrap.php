<?php
/**
 * PHPUnit bootstrap for the shims' tests.
 *
 * Finds the built plugin (KEYBRIDGE_PLUGIN_DIR, else builds one into a temp folder with
 * `node bin/keybridge.js shims build`), then either hands over to the WordPress suite's
 * bootstrap (when KEYBRIDGE_WP_ENV names the fixture: WordPress loads the plugin itself) or
 * loads the plugin's CMS-neutral classes for the client suite.
 *
 * @package Keybridge
 */

if ( ! is_file( dirname( __DIR__, 2 ) . '/vendor/autoload.php' ) ) {
	fwrite( STDERR, "shims/vendor is missing: run shims/install-php-tools.sh\n" );
	exit( 1 );
}
require dirname( __DIR__, 2 ) . '/vendor/autoload.php';

define( 'KEYBRIDGE_REPO_ROOT', dirname( __DIR__, 3 ) );

/**
 * The built WordPress plugin's folder: KEYBRIDGE_PLUGIN_DIR, else a fresh build removed at exit.
 *
 * @return string Absolute path of wordpress/keybridge.
 */
function keybridge_test_plugin_dir() {
	$given = getenv( 'KEYBRIDGE_PLUGIN_DIR' );
	if ( is_string( $given ) && '' !== $given ) {
		if ( ! is_file( $given . '/includes/class-keybridge-client.php' ) ) {
			fwrite( STDERR, "KEYBRIDGE_PLUGIN_DIR=$given does not hold a built keybridge plugin\n" );
			exit( 1 );
		}
		return rtrim( $given, '/' );
	}
	$out = sys_get_temp_dir() . '/keybridge-phpunit-' . getmypid() . '-' . bin2hex( random_bytes( 4 ) );
	$cmd = 'cd ' . escapeshellarg( KEYBRIDGE_REPO_ROOT ) . ' && node bin/keybridge.js shims build --out ' . escapeshellarg( $out ) . ' 2>&1';
	exec( $cmd, $lines, $status );
	if ( 0 !== $status ) {
		fwrite( STDERR, "keybridge shims build failed:\n" . implode( "\n", $lines ) . "\n" );
		exit( 1 );
	}
	register_shutdown_function(
		static function () use ( $out ) {
			exec( 'rm -rf ' . escapeshellarg( $out ) );
		}
	);
	return $out . '/wordpress/keybridge';
}

define( 'KEYBRIDGE_TEST_PLUGIN_DIR', keybridge_test_plugin_dir() );
// Child processes and the WordPress bootstrap find the same build.
putenv( 'KEYBRIDGE_PLUGIN_DIR=' . KEYBRIDGE_TEST_PLUGIN_DIR );

$keybridge_wp_bootstrap = __DIR__ . '/wordpress/bootstrap.php';
if ( false !== getenv( 'KEYBRIDGE_WP_ENV' ) && '' !== getenv( 'KEYBRIDGE_WP_ENV' ) && is_file( $keybridge_wp_bootstrap ) ) {
	require $keybridge_wp_bootstrap;
} else {
	foreach ( array( 'exception', 'spec', 'http-exchange', 'agent-proof', 'agent-connection', 'client', 'kb1', 'ciphertext-cache', 'name-tables', 'names' ) as $keybridge_class ) {
		require_once KEYBRIDGE_TEST_PLUGIN_DIR . '/includes/class-keybridge-' . $keybridge_class . '.php';
	}
}

require_once __DIR__ . '/client/class-keybridge-test-agent.php';
