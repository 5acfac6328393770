<?php
/**
 * `wp keybridge cert …`
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Manages the site's client certificate.
 */
class Keybridge_CLI_Cert_Command extends WP_CLI_Command {

	/**
	 * Creates a custom development certificate naming your organisation.
	 *
	 * It replaces the current certificate.
	 *
	 * ## OPTIONS
	 *
	 * --country=<cc>
	 * : Two capital letters, e.g. NL.
	 *
	 * --state=<state>
	 * : State or province.
	 *
	 * --locality=<city>
	 * : City.
	 *
	 * --org=<organization>
	 * : Organization.
	 *
	 * [--format=<format>]
	 * : Print the new certificate (environment, serial, not_after, path) as table, json, csv or yaml.
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function create( $args, $assoc_args ) {
		$body        = array(
			'country'      => (string) $assoc_args['country'],
			'state'        => (string) $assoc_args['state'],
			'locality'     => (string) $assoc_args['locality'],
			'organization' => (string) $assoc_args['org'],
		);
		$certificate = Keybridge_CLI_Command::attempt(
			static function () use ( $body ) {
				return Keybridge_Plugin::client()->certificates_create( $body );
			}
		);
		self::done( $certificate, $assoc_args );
	}

	/**
	 * Renews the certificate now.
	 *
	 * The agent also renews it by itself at two thirds of its lifetime.
	 *
	 * ## OPTIONS
	 *
	 * [--format=<format>]
	 * : Print the new certificate (environment, serial, not_after, path) as table, json, csv or yaml.
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function renew( $args, $assoc_args ) {
		$certificate = Keybridge_CLI_Command::attempt(
			static function () {
				return Keybridge_Plugin::client()->certificates_renew();
			}
		);
		self::done( $certificate, $assoc_args );
	}

	/**
	 * Reports the new certificate.
	 *
	 * @param array $certificate The agent's answer.
	 * @param array $assoc_args  The command's options (--format).
	 * @return void
	 */
	private static function done( array $certificate, array $assoc_args ) {
		Keybridge_Status::forget();
		Keybridge_CLI_IO::result(
			$assoc_args,
			array(
				'environment' => $certificate['environment'],
				'serial'      => $certificate['serial'],
				'not_after'   => $certificate['not_after'],
				'path'        => $certificate['path'],
			),
			sprintf( 'New %s certificate %s, valid until %s (%s).', $certificate['environment'], $certificate['serial'], $certificate['not_after'], $certificate['path'] )
		);
	}
}
