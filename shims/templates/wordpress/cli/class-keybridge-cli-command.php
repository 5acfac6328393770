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
	 * Registers `wp keybridge` and its groups: cert, option, constant (also `constants`), keys.
	 *
	 * @return void
	 */
	public static function add_commands() {
		WP_CLI::add_command( 'keybridge', __CLASS__ );
		WP_CLI::add_command( 'keybridge cert', 'Keybridge_CLI_Cert_Command' );
		WP_CLI::add_command( 'keybridge option', 'Keybridge_CLI_Option_Command' );
		WP_CLI::add_command( 'keybridge constant', 'Keybridge_CLI_Constant_Command' );
		WP_CLI::add_command( 'keybridge constants', 'Keybridge_CLI_Constant_Command' );
		WP_CLI::add_command( 'keybridge keys', 'Keybridge_CLI_Keys_Command' );
	}

	/**
	 * Shows the status table; exits 1 when a check is red, so deploy scripts and monitoring can gate on it.
	 *
	 * Exit status: 0 when no row is an error (warnings allowed unless --strict), 1 when a row
	 * is an error (with --strict also a warning), or when the agent cannot be reached (the
	 * table still shows why). The "help" column says what to run.
	 *
	 * ## OPTIONS
	 *
	 * [--format=<format>]
	 * : table, csv or yaml (the rows), or json (the agent's whole status object).
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 *   - yaml
	 * ---
	 *
	 * [--strict]
	 * : Exit 1 on warnings too.
	 *
	 * ## EXAMPLES
	 *
	 *     wp keybridge status
	 *     wp keybridge status --format=json
	 *     wp keybridge status --strict || echo "keybridge needs attention"
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function status( $args, $assoc_args ) {
		$status = Keybridge_Status::for_this_site( Keybridge_Status::fetch() );
		$format = WP_CLI\Utils\get_flag_value( $assoc_args, 'format', 'table' );
		if ( 'json' === $format ) {
			WP_CLI::line( (string) wp_json_encode( $status, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES ) );
		} else {
			$rows = array();
			foreach ( $status['rows'] as $row ) {
				$rows[] = array(
					'title'    => $row['title'],
					'severity' => $row['severity'],
					'value'    => $row['value'],
					'help'     => Keybridge_Status::what_to_do( $row, 'wp_cli' ),
				);
			}
			WP_CLI\Utils\format_items( $format, $rows, array( 'title', 'severity', 'value', 'help' ) );
		}
		$failing = WP_CLI\Utils\get_flag_value( $assoc_args, 'strict', false ) ? array( 'error', 'warning' ) : array( 'error' );
		$failed  = array();
		foreach ( $status['rows'] as $row ) {
			if ( in_array( $row['severity'], $failing, true ) ) {
				$failed[] = sprintf( '%s: %s (%s)', $row['title'], $row['value'], $row['severity'] );
			}
		}
		if ( array() !== $failed ) {
			WP_CLI::error( sprintf( 'keybridge needs attention: %s.', implode( '; ', $failed ) ) );
		}
	}

	/**
	 * Lists the keys stored in this environment: names, labels, versions, reads, and whether this site holds each key's wrapping key.
	 *
	 * The `kek` column: `held` (this site can read it), `missing` (this site's database has no
	 * wrapping key for it: it was set elsewhere) or `needs-reset` (set under another wrapping key,
	 * e.g. before a database copy: set it again here). Values are never shown.
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
	 *   - count
	 * ---
	 *
	 * ## EXAMPLES
	 *
	 *     wp keybridge list
	 *     wp keybridge list --format=json
	 *
	 * @subcommand list
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function list_keys( $args, $assoc_args ) {
		$keys        = self::attempt(
			static function () {
				return Keybridge_Keys::instance()->listed_all();
			}
		);
		$needs_reset = self::names_needing_reset();
		$held        = array_flip( Keybridge_Keks::names() );
		$items       = array();
		foreach ( $keys['keys'] as $key ) {
			if ( isset( $needs_reset[ $key['name'] ] ) ) {
				$kek = 'needs-reset';
			} else {
				$kek = isset( $held[ $key['name'] ] ) ? 'held' : 'missing';
			}
			$items[] = array(
				'name'       => $key['name'],
				'label'      => $key['label'],
				'version'    => $key['version'],
				'updated_at' => $key['updated_at'],
				'reads'      => $key['reads'],
				'kek'        => $kek,
			);
		}
		WP_CLI\Utils\format_items(
			WP_CLI\Utils\get_flag_value( $assoc_args, 'format', 'table' ),
			$items,
			array( 'name', 'label', 'version', 'updated_at', 'reads', 'kek' )
		);
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
	 * Stores a value read from stdin or a file, never from the command line.
	 *
	 * The value comes from stdin (exact bytes) or --value-file: a value given as an argument
	 * would be in the shell history and, while the command runs, in every user's process list.
	 *
	 * ## OPTIONS
	 *
	 * <name>
	 * : Key name.
	 *
	 * [<value>]
	 * : Refused: a value given here is in the shell history and the process list. Declared only so the refusal does not repeat it.
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
			WP_CLI::error( 'invalid-value: a value on the command line is visible to other users of this host: pipe it on stdin or use --value-file=<file>.' );
		}
		if ( null !== $file ) {
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
	 * [--password]
	 * : Read the account password (needed when the account exists) from stdin, or ask for it on a terminal without echo.
	 *
	 * [--password-file=<file>]
	 * : Read the account password from this file.
	 *
	 * [--site-name=<name>]
	 * : Site name.
	 *
	 * [--format=<format>]
	 * : Print the registration (site_id, environment, account_email) as table, json, csv or yaml.
	 *
	 * ## EXAMPLES
	 *
	 *     wp keybridge register --email=you@example.com --site-name="Shop"
	 *     wp keybridge register --email=you@example.com --password --site-name="Shop" < password.txt
	 *
	 * @subcommand register
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Options.
	 * @return void
	 */
	public function register_site( $args, $assoc_args ) {
		$body     = array( 'email' => (string) $assoc_args['email'] );
		$password = Keybridge_CLI_IO::secret( $assoc_args, 'password', 'Account password' );
		if ( null !== $password ) {
			$body['password'] = $password;
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
		Keybridge_CLI_IO::result(
			$assoc_args,
			array(
				'site_id'       => $certificate['site_id'],
				'environment'   => $certificate['environment'],
				'account_email' => $certificate['account_email'],
			),
			sprintf( 'Registered site %s (%s) for %s.', $certificate['site_id'], $certificate['environment'], $certificate['account_email'] )
		);
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
	 * [--format=<format>]
	 * : Print the outcome (status: issued or pending) as table, json, csv or yaml.
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
		Keybridge_CLI_IO::result(
			$assoc_args,
			array( 'status' => $answer['status'] ),
			'pending' === $answer['status']
				? 'The production request waits for the key service operator\'s approval.'
				: 'This site now has a production certificate.'
		);
	}

	/**
	 * The keys the agent's status lists as set under another wrapping key, as a set.
	 *
	 * @return array Name => true.
	 */
	private static function names_needing_reset() {
		foreach ( Keybridge_Status::for_this_site( Keybridge_Status::fetch() )['rows'] as $row ) {
			if ( 'keys-need-reset' === $row['id'] && 'ok' !== $row['severity'] ) {
				return array_flip( array_map( 'trim', explode( ',', $row['value'] ) ) );
			}
		}
		return array();
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
