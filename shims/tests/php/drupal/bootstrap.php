<?php
/**
 * Boots the Drupal fixture's default site for PHPUnit, as Drush does: its own Composer
 * autoloader (put first, so Drupal's Symfony wins over shims/vendor's), DrupalKernel for a
 * request to DRUPAL_URL, the container in \Drupal.
 *
 * @package Keybridge
 */

use Drupal\Core\DrupalKernel;
use Symfony\Component\HttpFoundation\Request;

require dirname( __DIR__, 3 ) . '/vendor/autoload.php';

$keybridge_env_file = (string) getenv( 'KEYBRIDGE_DRUPAL_ENV' );
if ( '' === $keybridge_env_file || ! is_file( $keybridge_env_file ) ) {
	fwrite( STDERR, "KEYBRIDGE_DRUPAL_ENV must name the env file of fixtures/drupal/up.sh\n" );
	exit( 1 );
}
$keybridge_env = array();
foreach ( file( $keybridge_env_file, FILE_IGNORE_NEW_LINES ) as $keybridge_line ) {
	if ( 1 === preg_match( '/^([A-Z][A-Z0-9_]*)=(.*)$/', $keybridge_line, $keybridge_match ) ) {
		$keybridge_env[ $keybridge_match[1] ] = $keybridge_match[2];
	}
}
define( 'KEYBRIDGE_DRUPAL_TEST_ENV', $keybridge_env );

// Drupal boots from its root, as index.php and Drush do; PHPUnit then needs its own again.
$keybridge_cwd = getcwd();
chdir( $keybridge_env['DRUPAL_ROOT'] );
$keybridge_autoloader = require $keybridge_env['DRUPAL_PROJECT'] . '/vendor/autoload.php';
$keybridge_request    = Request::create(
	$keybridge_env['DRUPAL_URL'] . '/',
	'GET',
	array(),
	array(),
	array(),
	array(
		'SCRIPT_NAME'     => '/index.php',
		'SCRIPT_FILENAME' => $keybridge_env['DRUPAL_ROOT'] . '/index.php',
	)
);
$keybridge_kernel = DrupalKernel::createFromRequest( $keybridge_request, $keybridge_autoloader, 'prod' );
$keybridge_kernel->boot();
$keybridge_kernel->preHandle( $keybridge_request );
\Drupal::requestStack()->push( $keybridge_request );
chdir( $keybridge_cwd );

/**
 * Runs fixtures/drupal/agent.sh (start or stop) for the default site.
 *
 * @param string $action start or stop.
 */
function keybridge_drupal_agent( string $action ) {
	$env = KEYBRIDGE_DRUPAL_TEST_ENV;
	exec( 'bash ' . escapeshellarg( dirname( __DIR__, 4 ) . '/fixtures/drupal/agent.sh' ) . ' ' . escapeshellarg( $action ) . ' ' . escapeshellarg( $env['DRUPAL_FIXTURE_DIR'] ) . ' 2>&1', $output, $status );
	if ( 0 !== $status ) {
		throw new RuntimeException( 'agent.sh ' . $action . ' failed: ' . implode( "\n", $output ) );
	}
}
