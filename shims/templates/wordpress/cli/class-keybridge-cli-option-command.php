<?php
/**
 * `wp keybridge option …`
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Protects options: keeps their values in keybridge.
 *
 * Only a reference stays in wp_options; the plugin that owns the option keeps working unchanged.
 */
class Keybridge_CLI_Option_Command extends WP_CLI_Command {

	/**
	 * Moves an existing option's value into keybridge.
	 *
	 * ## OPTIONS
	 *
	 * <option>
	 * : Option name, e.g. smtp_password.
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function protect( $args, $assoc_args ) {
		Keybridge_CLI_Command::attempt(
			static function () use ( $args ) {
				Keybridge_Protected_Options::protect( $args[0] );
			}
		);
		WP_CLI::success( sprintf( 'The value of %s is now kept in keybridge.', $args[0] ) );
	}

	/**
	 * Puts a protected option's value back into wp_options.
	 *
	 * ## OPTIONS
	 *
	 * <option>
	 * : Option name.
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function unprotect( $args, $assoc_args ) {
		Keybridge_CLI_Command::attempt(
			static function () use ( $args ) {
				Keybridge_Protected_Options::unprotect( $args[0] );
			}
		);
		WP_CLI::success( sprintf( 'The value of %s is back in wp_options.', $args[0] ) );
	}

	/**
	 * Lists the protected options.
	 *
	 * ## OPTIONS
	 *
	 * [--format=<format>]
	 * : table, json or csv.
	 * ---
	 * default: table
	 * ---
	 *
	 * @subcommand list
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function list_( $args, $assoc_args ) {
		$items = array();
		foreach ( Keybridge_Protected_Options::names() as $option ) {
			$items[] = array(
				'option' => $option,
				'key'    => Keybridge_Protected_Options::key_name( $option ),
			);
		}
		WP_CLI\Utils\format_items( WP_CLI\Utils\get_flag_value( $assoc_args, 'format', 'table' ), $items, array( 'option', 'key' ) );
	}
}
