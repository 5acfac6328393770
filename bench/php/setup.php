<?php
/**
 * Prepares the PHP benchmark on a running WordPress fixture: registers the site if it is not
 * yet, stores one key through the plugin (so its KEK sits in the autoloaded option, as on a
 * real site), one plain, non-autoloaded option of the same size to compare with, and an
 * autoloaded option `<BENCH_OPTION>_protected` with the same value, protected.
 *
 *   WP_PATH=… WP_URL=… BENCH_KEY=name BENCH_OPTION=name php setup.php
 *
 * @package keybridge
 */

$url                        = getenv( 'WP_URL' );
$_SERVER['HTTP_HOST']       = parse_url( $url, PHP_URL_HOST ) . ':' . parse_url( $url, PHP_URL_PORT );
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
require getenv( 'WP_PATH' ) . '/wp-load.php';

$name   = getenv( 'BENCH_KEY' );
$option = getenv( 'BENCH_OPTION' );
if ( ! function_exists( 'keybridge_get_key' ) ) {
	fwrite( STDERR, "setup.php: the keybridge plugin is not active (no keybridge_get_key())\n" );
	exit( 1 );
}

try {
	$client = Keybridge_Plugin::client();
	$agent_status = $client->status();
	if ( empty( $agent_status['registered'] ) ) {
		$client->register(
			array(
				'email'     => 'php-bench@example.com',
				'site_name' => 'php bench',
			)
		);
	}
} catch ( Keybridge_Exception $e ) {
	fwrite( STDERR, 'setup.php: registering the site failed: ' . $e->problem_type() . ': ' . $e->getMessage() . "\n" );
	exit( 1 );
}

// A 40-character API token: the kind of secret a plugin keeps in an option today.
$value = substr( bin2hex( random_bytes( 20 ) ), 0, 40 );
if ( ! keybridge_set_key( $name, $value, 'php bench' ) ) {
	fwrite( STDERR, "setup.php: keybridge_set_key() failed (see the fixture's debug.log)\n" );
	exit( 1 );
}
update_option( $option, $value, false );
// A plugin's autoloaded setting holding the same value, protected: get_option() reads it
// through keybridge (bench/php/page-probe.php times that as a page's first read too).
$protected = $option . '_protected';
if ( false === get_option( $protected ) ) {
	add_option( $protected, $value, '', true );
}
if ( get_option( $protected ) !== $value && ! update_option( $protected, $value, true ) ) {
	fwrite( STDERR, "setup.php: could not save the option to protect\n" );
	exit( 1 );
}
if ( ! keybridge_protect_option( $protected ) ) {
	fwrite( STDERR, "setup.php: keybridge_protect_option() failed (see the fixture's debug.log)\n" );
	exit( 1 );
}
if ( keybridge_get_key( $name ) !== $value ) {
	fwrite( STDERR, "setup.php: keybridge_get_key() did not return the value just stored\n" );
	exit( 1 );
}
echo "ready\n";
