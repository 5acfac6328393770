<?php
/**
 * `wp keybridge constant …` (also `wp keybridge constants …`)
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Defines PHP constants from keybridge keys, for plugins that read their secrets from constants.
 *
 * A must-use plugin (the loader) defines each mapped constant before ordinary plugins load; a
 * constant already defined in wp-config.php is kept, and `wp keybridge status` says so.
 */
class Keybridge_CLI_Constant_Command extends WP_CLI_Command {

	/**
	 * Maps a constant to a key this site holds, and installs the loader.
	 *
	 * ## OPTIONS
	 *
	 * <constant>
	 * : Constant name, e.g. WPMS_SMTP_PASS.
	 *
	 * <key>
	 * : Key name, e.g. smtp/password.
	 *
	 * ## EXAMPLES
	 *
	 *     printf '%s' "$SMTP_PASSWORD" | wp keybridge set smtp/password
	 *     wp keybridge constant map WPMS_SMTP_PASS smtp/password
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function map( $args, $assoc_args ) {
		$installed = Keybridge_CLI_Command::attempt(
			static function () use ( $args ) {
				return Keybridge_Constants::set( $args[0], $args[1] );
			}
		);
		if ( ! $installed ) {
			WP_CLI::warning( Keybridge_Constants::loader_help() );
		}
		WP_CLI::success( sprintf( '%s is defined from the key %s from the next request on.', $args[0], $args[1] ) );
	}

	/**
	 * Removes a constant from the map (the key stays).
	 *
	 * ## OPTIONS
	 *
	 * <constant>
	 * : Constant name.
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function unmap( $args, $assoc_args ) {
		Keybridge_CLI_Command::attempt(
			static function () use ( $args ) {
				Keybridge_Constants::remove( $args[0] );
			}
		);
		WP_CLI::success( sprintf( '%s is no longer defined from keybridge.', $args[0] ) );
	}

	/**
	 * Lists the mapped constants and what the loader did with each in this run.
	 *
	 * The `state` column: `defined`, `kept` (already defined, e.g. in wp-config.php), `failed`
	 * (the key could not be read: `detail` says why), `denied` (the key's allow list does not
	 * name the loader) or `not-loaded` (the loader is not installed).
	 *
	 * ## OPTIONS
	 *
	 * [--format=<format>]
	 * : Output format.
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 *   - yaml
	 * ---
	 *
	 * @subcommand list
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function list_( $args, $assoc_args ) {
		$outcome = Keybridge_Constants::outcome();
		$items   = array();
		foreach ( Keybridge_Constants::map() as $constant => $key ) {
			$items[] = array(
				'constant' => (string) $constant,
				'key'      => (string) $key,
				'state'    => isset( $outcome[ $constant ] ) ? $outcome[ $constant ][0] : 'not-loaded',
				'detail'   => isset( $outcome[ $constant ] ) ? $outcome[ $constant ][1] : '',
			);
		}
		WP_CLI\Utils\format_items( WP_CLI\Utils\get_flag_value( $assoc_args, 'format', 'table' ), $items, array( 'constant', 'key', 'state', 'detail' ) );
	}

	/**
	 * Installs the loader in wp-content/mu-plugins (mapping a constant does it too).
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function install( $args, $assoc_args ) {
		Keybridge_CLI_Command::attempt(
			static function () {
				Keybridge_Constants::install_loader();
			}
		);
		WP_CLI::success( sprintf( 'The loader is installed: %s', Keybridge_Constants::loader_path() ) );
	}

	/**
	 * Removes the loader: no constant is defined from keybridge any more (the map stays).
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function uninstall( $args, $assoc_args ) {
		Keybridge_Constants::uninstall_loader();
		WP_CLI::success( 'The loader is removed.' );
	}
}
