<?php
/**
 * `wp keybridge …`
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Manages keybridge: status, keys, registration and the move to production.
 *
 * Failures exit non-zero with the problem type and its title; no command prints a KEK or the token, and only `get` prints a value.
 */
class Keybridge_CLI_Command extends WP_CLI_Command {

	/**
	 * Registers `wp keybridge`, `wp keybridge cert` and `wp keybridge option`.
	 *
	 * @return void
	 */
	public static function add_commands() {
		WP_CLI::add_command( 'keybridge', __CLASS__ );
		WP_CLI::add_command( 'keybridge cert', 'Keybridge_CLI_Cert_Command' );
		WP_CLI::add_command( 'keybridge option', 'Keybridge_CLI_Option_Command' );
	}

	/**
	 * Shows the status table.
	 *
	 * ## OPTIONS
	 *
	 * [--format=<format>]
	 * : table or json (the agent's status object).
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 * ---
	 *
	 * ## EXAMPLES
	 *
	 *     wp keybridge status
	 *     wp keybridge status --format=json
	 *
	 * Exits 1 when the agent cannot be reached (the table still shows why).
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function status( $args, $assoc_args ) {
		$status = Keybridge_Status::fetch();
		if ( 'json' === WP_CLI\Utils\get_flag_value( $assoc_args, 'format', 'table' ) ) {
			WP_CLI::line( (string) wp_json_encode( $status, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES ) );
		} else {
			WP_CLI\Utils\format_items( 'table', $status['rows'], array( 'title', 'severity', 'value', 'help' ) );
		}
		if ( 'error' === $status['rows'][0]['severity'] ) {
			WP_CLI::error( $status['rows'][0]['value'] );
		}
	}

	/**
	 * Prints a key's value, exactly as stored (no newline added).
	 *
	 * ## OPTIONS
	 *
	 * <name>
	 * : Key name.
	 *
	 * ## EXAMPLES
	 *
	 *     wp keybridge get smtp/password > /dev/null
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function get( $args, $assoc_args ) {
		$value = self::attempt(
			static function () use ( $args ) {
				return Keybridge_Keys::instance()->read( $args[0] );
			}
		);
		// phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_read_fwrite -- raw bytes to stdout.
		fwrite( STDOUT, $value );
	}

	/**
	 * Stores a value (read from stdin unless given).
	 *
	 * Without <value> and --value-file the value is read from stdin, which keeps it out of the shell history and the process list: prefer that.
	 *
	 * ## OPTIONS
	 *
	 * <name>
	 * : Key name.
	 *
	 * [<value>]
	 * : The value (visible to other users of this host while the command runs).
	 *
	 * [--value-file=<file>]
	 * : Read the value from this file (exact bytes).
	 *
	 * [--label=<label>]
	 * : Label shown in key listings.
	 *
	 * ## EXAMPLES
	 *
	 *     printf '%s' "$SMTP_PASSWORD" | wp keybridge set smtp/password --label="SMTP password"
	 *     wp keybridge set stripe/secret --value-file=/run/secrets/stripe
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function set( $args, $assoc_args ) {
		$file = WP_CLI\Utils\get_flag_value( $assoc_args, 'value-file', null );
		if ( isset( $args[1] ) ) {
			$value = $args[1];
		} elseif ( null !== $file ) {
			if ( ! is_readable( $file ) ) {
				WP_CLI::error( sprintf( 'invalid-value: cannot read the value file %s', $file ) );
			}
			// phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents -- a local file.
			$value = file_get_contents( $file );
		} else {
			// phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents -- stdin.
			$value = file_get_contents( 'php://stdin' );
		}
		$label   = (string) WP_CLI\Utils\get_flag_value( $assoc_args, 'label', '' );
		$written = self::attempt(
			static function () use ( $args, $value, $label ) {
				return Keybridge_Keys::instance()->store( $args[0], $value, $label );
			}
		);
		WP_CLI::success( sprintf( 'Stored %s (version %d).', $args[0], $written['version'] ) );
	}

	/**
	 * Deletes a key from this environment's vault.
	 *
	 * The site's wrapping key for it is dropped too.
	 *
	 * ## OPTIONS
	 *
	 * <name>
	 * : Key name.
	 *
	 * [--yes]
	 * : Do not ask for confirmation.
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function delete( $args, $assoc_args ) {
		WP_CLI::confirm( sprintf( 'Delete the key %s from this environment\'s vault?', $args[0] ), $assoc_args );
		self::attempt(
			static function () use ( $args ) {
				Keybridge_Keys::instance()->delete( $args[0] );
			}
		);
		WP_CLI::success( sprintf( 'Deleted %s.', $args[0] ) );
	}

	/**
	 * Registers this site with the key service.
	 *
	 * A new email creates the account; an existing one needs its password.
	 *
	 * ## OPTIONS
	 *
	 * --email=<email>
	 * : Account email.
	 *
	 * [--password=<password>]
	 * : Account password, needed when the account exists.
	 *
	 * [--site-name=<name>]
	 * : Site name.
	 *
	 * @subcommand register
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function register_site( $args, $assoc_args ) {
		$body = array( 'email' => (string) $assoc_args['email'] );
		if ( isset( $assoc_args['password'] ) ) {
			$body['password'] = (string) $assoc_args['password'];
		}
		if ( isset( $assoc_args['site-name'] ) ) {
			$body['site_name'] = (string) $assoc_args['site-name'];
		}
		$certificate = self::attempt(
			static function () use ( $body ) {
				return Keybridge_Plugin::client()->register( $body );
			}
		);
		Keybridge_Status::forget();
		WP_CLI::success( sprintf( 'Registered site %s (%s) for %s.', $certificate['site_id'], $certificate['environment'], $certificate['account_email'] ) );
	}

	/**
	 * Moves this site to production.
	 *
	 * From then on it reads production values only. The account password proves the request
	 * comes from the owner (a copy of a development host cannot mint production).
	 *
	 * ## OPTIONS
	 *
	 * --password-file=<file>
	 * : A file holding the account password (one line).
	 *
	 * [--yes]
	 * : Do not ask for confirmation.
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function production( $args, $assoc_args ) {
		$body = array( 'password' => self::password_from_file( (string) $assoc_args['password-file'] ) );
		WP_CLI::confirm( 'Move this site to production? It will read production values from now on.', $assoc_args );
		$answer = self::attempt(
			static function () use ( $body ) {
				return Keybridge_Plugin::client()->production( $body );
			}
		);
		Keybridge_Status::forget();
		if ( 'pending' === $answer['status'] ) {
			WP_CLI::success( 'The production request waits for the key service operator\'s approval.' );
			return;
		}
		WP_CLI::success( 'This site now has a production certificate.' );
	}

	/**
	 * The account password from a file the user named (its one line, without the line end).
	 *
	 * @param string $file Path to the file.
	 * @return string The password.
	 */
	public static function password_from_file( $file ) {
		$text = is_readable( $file ) ? file_get_contents( $file ) : false; // phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents -- a local file the user named.
		if ( false === $text ) {
			WP_CLI::error( sprintf( 'Cannot read the password file %s.', $file ) );
		}
		return rtrim( $text, "\r\n" );
	}

	/**
	 * Runs a keybridge call; on a failure exits 1 with the problem type and title.
	 *
	 * @param callable $call The call.
	 * @return mixed What the call returned.
	 */
	public static function attempt( callable $call ) {
		try {
			return $call();
		} catch ( Keybridge_Exception $e ) {
			WP_CLI::error( $e->problem_type() . ': ' . $e->getMessage() );
		}
		return null;
	}
}
