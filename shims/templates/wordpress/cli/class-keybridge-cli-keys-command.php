<?php
/**
 * `wp keybridge keys …`
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Who reads which key, and which code may.
 */
class Keybridge_CLI_Keys_Command extends WP_CLI_Command {

	/**
	 * Shows who read each key: the plugin, theme, must-use plugin or core file that asked, how often and when last.
	 *
	 * Reads are counted in the web server's APCu and written here about once a minute, so the
	 * latest minute may be missing. `denied` counts reads a key's allow list refused.
	 *
	 * ## OPTIONS
	 *
	 * [<name>]
	 * : Only this key.
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
	 * ## EXAMPLES
	 *
	 *     wp keybridge keys usage
	 *     wp keybridge keys usage smtp/password --format=json
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function usage( $args, $assoc_args ) {
		WP_CLI\Utils\format_items(
			WP_CLI\Utils\get_flag_value( $assoc_args, 'format', 'table' ),
			Keybridge_Usage::summary( isset( $args[0] ) ? $args[0] : null ),
			array( 'name', 'caller', 'reads', 'denied', 'last_read_at' )
		);
	}

	/**
	 * Lets only the named code read a key; others get null and a logged access-denied.
	 *
	 * A guard against mistakes (a plugin reading a key it was never meant to), not a boundary
	 * against hostile code running in WordPress. Without callers (or with --clear) any code may
	 * read the key again.
	 *
	 * ## OPTIONS
	 *
	 * <name>
	 * : Key name.
	 *
	 * [<caller>...]
	 * : plugin:<folder>, mu-plugin:<file>, theme:<folder> or core.
	 *
	 * [--clear]
	 * : Remove the allow list.
	 *
	 * ## EXAMPLES
	 *
	 *     wp keybridge keys allow smtp/password plugin:wp-mail-smtp mu-plugin:keybridge-constants
	 *     wp keybridge keys allow smtp/password --clear
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function allow( $args, $assoc_args ) {
		$name    = array_shift( $args );
		$callers = WP_CLI\Utils\get_flag_value( $assoc_args, 'clear', false ) ? array() : $args;
		if ( array() === $callers && ! WP_CLI\Utils\get_flag_value( $assoc_args, 'clear', false ) ) {
			WP_CLI::error( 'invalid-field: name the callers that may read the key, or give --clear.' );
		}
		Keybridge_CLI_Command::attempt(
			static function () use ( $name, $callers ) {
				Keybridge_Usage::set_allowed( $name, $callers );
			}
		);
		WP_CLI::success( array() === $callers ? sprintf( 'Any code may read %s.', $name ) : sprintf( 'Only %s may read %s.', implode( ', ', $callers ), $name ) );
	}
}
