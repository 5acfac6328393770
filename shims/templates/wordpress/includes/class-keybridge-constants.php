<?php
/**
 * Secrets as PHP constants.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Many plugins read their secrets from constants before the database (WP Mail SMTP's
 * WPMS_SMTP_PASS, payment and mail plugins). A site maps such a constant to a key
 * (`wp keybridge constant map WPMS_SMTP_PASS smtp/password`, or the settings page); a small
 * must-use plugin, the loader, defines every mapped constant from keybridge before ordinary
 * plugins load, fetching all the mapped keys in one agent call. A constant already defined
 * (in wp-config.php) is kept as it is, and the status table says so.
 *
 * The map is ONE autoloaded option (`keybridge_constants`: constant => key name), so the loader
 * costs no query. On a network each site has its own map, keys and loader run.
 */
class Keybridge_Constants {

	const OPTION = 'keybridge_constants';

	/**
	 * The loader's file name in wp-content/mu-plugins.
	 */
	const LOADER = 'keybridge-constants.php';

	/**
	 * Who reads the mapped keys, for usage and allow lists.
	 */
	const CALLER = 'mu-plugin:keybridge-constants';

	/**
	 * What a constant name may be (PHP's rule, ASCII only, at most 128 characters).
	 */
	const NAME_PATTERN = '/^[A-Za-z_][A-Za-z0-9_]{0,127}$/';

	/**
	 * What the loader did in this request: constant => array( state, detail ). States: defined,
	 * kept (defined before, left alone), failed (the detail is the problem type), denied (the
	 * key's allow list does not name the loader). Null: the loader did not run.
	 *
	 * @var array|null
	 */
	private static $outcome = null;

	/**
	 * The map: constant name => key name.
	 *
	 * @return array<string, string>
	 */
	public static function map() {
		// From the autoloaded options only: no query on a site that maps nothing.
		$alloptions = wp_load_alloptions();
		$map        = isset( $alloptions[ self::OPTION ] ) ? maybe_unserialize( $alloptions[ self::OPTION ] ) : array();
		return is_array( $map ) ? $map : array();
	}

	/**
	 * Maps a constant to a key this site holds, and installs the loader if it can.
	 *
	 * @param string $constant Constant name, e.g. WPMS_SMTP_PASS.
	 * @param string $key      Key name.
	 * @return bool Whether the loader is installed (the mapping is kept either way).
	 * @throws Keybridge_Exception Type `invalid-field` for a bad constant name, `key-not-found`
	 *                             when this site holds no such key.
	 */
	public static function set( $constant, $key ) {
		$constant = self::check_name( $constant );
		$key      = (string) $key;
		if ( null === Keybridge_Keks::get( $key ) ) {
			/* translators: %s: key name. */
			throw new Keybridge_Exception( 'key-not-found', sprintf( __( 'This site holds no key "%s": store it first, then map the constant.', 'keybridge' ), Keybridge_Keys::describe( $key ) ), 404, 'key' );
		}
		$map              = self::map();
		$map[ $constant ] = $key;
		ksort( $map );
		update_option( self::OPTION, $map, true );
		try {
			self::install_loader();
		} catch ( Keybridge_Exception $e ) {
			// The status table says the loader is missing and how to install it.
			return false;
		}
		return true;
	}

	/**
	 * Removes a constant from the map (the key stays).
	 *
	 * @param string $constant Constant name.
	 * @return void
	 * @throws Keybridge_Exception Type `not-found` when it is not mapped.
	 */
	public static function remove( $constant ) {
		$map = self::map();
		if ( ! isset( $map[ (string) $constant ] ) ) {
			/* translators: %s: constant name. */
			throw new Keybridge_Exception( 'not-found', sprintf( __( 'The constant %s is not mapped to a key.', 'keybridge' ), self::printable( $constant ) ), 404, 'constant' );
		}
		unset( $map[ (string) $constant ] );
		update_option( self::OPTION, $map, true );
	}

	/**
	 * Defines every mapped constant that is not defined yet: the loader's job, before
	 * ordinary plugins load. All the keys come in one agent call (or none: cached); when that
	 * call fails, only cached keys are read, so an agent that is down costs one timeout.
	 *
	 * @return void
	 */
	public static function define_all() {
		self::$outcome = array();
		$wanted        = array();
		foreach ( self::map() as $constant => $key ) {
			$constant = (string) $constant;
			if ( defined( $constant ) ) {
				self::$outcome[ $constant ] = array( 'kept', '' );
			} elseif ( ! Keybridge_Usage::permit( $key, self::CALLER ) ) {
				self::$outcome[ $constant ] = array( 'denied', 'access-denied' );
			} else {
				$wanted[ $constant ] = (string) $key;
			}
		}
		if ( array() === $wanted ) {
			return;
		}
		$fetch = true;
		try {
			Keybridge_Keys::instance()->prefetch( array_values( $wanted ) );
		} catch ( Keybridge_Exception $e ) {
			keybridge_log_problem( 'keybridge constants', implode( ',', $wanted ), $e );
			$fetch = false;
		}
		foreach ( $wanted as $constant => $key ) {
			try {
				// phpcs:ignore WordPress.NamingConventions.PrefixAllGlobals.VariableConstantNameFound -- the site chose the name: defining another plugin's constant is the point.
				define( $constant, Keybridge_Keys::instance()->read( $key, $fetch ) );
				Keybridge_Usage::record( $key, self::CALLER );
				self::$outcome[ $constant ] = array( 'defined', '' );
			} catch ( Keybridge_Exception $e ) {
				keybridge_log_problem( 'keybridge constant ' . $constant, $key, $e );
				self::$outcome[ $constant ] = array( 'failed', $e->problem_type() );
			}
		}
	}

	/**
	 * What the loader did in this request (see $outcome), or null when it did not run.
	 *
	 * @return array|null
	 */
	public static function outcome() {
		return self::$outcome;
	}

	/**
	 * The row this plugin adds to the status table, or null when no constant is mapped.
	 *
	 * @return array|null A status row: id, title, severity, value, help, action.
	 */
	public static function status_row() {
		$map = self::map();
		if ( array() === $map ) {
			return null;
		}
		$row = array(
			'id'       => 'constants',
			'title'    => __( 'Secrets as constants', 'keybridge' ),
			'severity' => 'ok',
			'value'    => '',
			'help'     => '',
			'action'   => '',
		);
		if ( null === self::$outcome ) {
			$row['severity'] = 'warning';
			$row['value']    = __( 'the loader is not installed: no constant is defined from keybridge', 'keybridge' );
			$row['help']     = self::loader_help();
			return $row;
		}
		$defined = array();
		$notes   = array();
		foreach ( self::$outcome as $constant => $what ) {
			if ( 'defined' === $what[0] ) {
				$defined[] = $constant;
				continue;
			}
			if ( 'kept' === $what[0] ) {
				/* translators: %s: constant name. */
				$notes[]         = sprintf( __( '%s kept: already defined (wp-config.php)', 'keybridge' ), $constant );
				$row['severity'] = 'error' === $row['severity'] ? 'error' : 'warning';
			} else {
				/* translators: 1: constant name, 2: problem type. */
				$notes[]         = sprintf( __( '%1$s not defined: %2$s', 'keybridge' ), $constant, $what[1] );
				$row['severity'] = 'error';
			}
		}
		/* translators: %d: how many constants. */
		$summary      = sprintf( _n( '%d defined', '%d defined', count( $defined ), 'keybridge' ), count( $defined ) );
		$row['value'] = implode( '; ', array_merge( array( $summary ), $notes ) );
		if ( 'ok' !== $row['severity'] ) {
			$row['help'] = __( 'A constant already defined in wp-config.php wins: remove its define() there to take the value from keybridge, or remove the mapping. A key that cannot be read leaves its constant undefined (the reason is in the PHP error log).', 'keybridge' );
		}
		return $row;
	}

	/**
	 * Where the loader lives.
	 *
	 * @return string
	 */
	public static function loader_path() {
		return WPMU_PLUGIN_DIR . '/' . self::LOADER;
	}

	/**
	 * Whether the loader in mu-plugins is this plugin's (and there at all).
	 *
	 * @return bool
	 */
	public static function loader_installed() {
		$path = self::loader_path();
		clearstatcache( true, $path );
		// phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents, WordPress.PHP.NoSilencedErrors.Discouraged -- a local file that another process may remove meanwhile.
		return is_file( $path ) && false !== strpos( (string) @file_get_contents( $path ), 'Keybridge_Constants::define_all()' );
	}

	/**
	 * Writes the loader into wp-content/mu-plugins (temp file, then rename).
	 *
	 * @return void
	 * @throws Keybridge_Exception Type `storage-failure` when the folder cannot be written.
	 */
	public static function install_loader() {
		// phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents -- the plugin's own template.
		$source = file_get_contents( dirname( __DIR__ ) . '/mu-plugin/' . self::LOADER );
		$path   = self::loader_path();
		if ( false === $source ) {
			throw new Keybridge_Exception( 'storage-failure', __( 'The loader template is missing from the keybridge plugin.', 'keybridge' ) );
		}
		// A must-use plugin's header; in the plugin's folder the template must not have one.
		$source = str_replace( ' * Loader Name:', ' * Plugin Name:', $source );
		// The loader names this plugin's folder, whatever it is called here.
		$source = str_replace( "'keybridge/keybridge.php'", var_export( plugin_basename( dirname( __DIR__ ) . '/keybridge.php' ), true ), $source ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_var_export -- a PHP string literal.
		if ( ! wp_mkdir_p( WPMU_PLUGIN_DIR ) ) {
			throw new Keybridge_Exception( 'storage-failure', self::not_writable() );
		}
		$temp = $path . '.' . wp_generate_password( 8, false ) . '.tmp';
		// phpcs:disable WordPress.WP.AlternativeFunctions -- a must-use plugin is written where WordPress reads it, atomically.
		if ( false === @file_put_contents( $temp, $source ) || ! @rename( $temp, $path ) ) { // phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged -- the failure becomes the exception below.
			@unlink( $temp ); // phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged
			throw new Keybridge_Exception( 'storage-failure', self::not_writable() );
		}
		// phpcs:enable
	}

	/**
	 * Removes the loader (nothing to do when it is not there, or not this plugin's).
	 *
	 * @return void
	 */
	public static function uninstall_loader() {
		if ( self::loader_installed() ) {
			wp_delete_file( self::loader_path() );
		}
	}

	/**
	 * What to do when the loader is missing.
	 *
	 * @return string
	 */
	public static function loader_help() {
		/* translators: %s: a file path. */
		return sprintf( __( 'Install the loader: wp keybridge constants install, or the button "Install the loader" on Settings → Keybridge (it writes %s).', 'keybridge' ), self::loader_path() );
	}

	/**
	 * A checked constant name.
	 *
	 * @param string $constant What was given.
	 * @return string
	 * @throws Keybridge_Exception Type `invalid-field`.
	 */
	private static function check_name( $constant ) {
		$constant = trim( (string) $constant );
		if ( 1 !== preg_match( self::NAME_PATTERN, $constant ) ) {
			throw new Keybridge_Exception( 'invalid-field', __( 'A constant name is letters, digits and underscores, not starting with a digit.', 'keybridge' ), 0, 'constant' );
		}
		if ( 0 === stripos( $constant, 'KEYBRIDGE_' ) ) {
			throw new Keybridge_Exception( 'invalid-field', __( 'Constants starting with KEYBRIDGE_ configure keybridge itself and cannot come from it.', 'keybridge' ), 0, 'constant' );
		}
		return $constant;
	}

	/**
	 * A constant name for a message (only if it is one).
	 *
	 * @param string $constant What was given.
	 * @return string
	 */
	private static function printable( $constant ) {
		return 1 === preg_match( self::NAME_PATTERN, (string) $constant ) ? (string) $constant : '(invalid name)';
	}

	/**
	 * The message when mu-plugins cannot be written.
	 *
	 * @return string
	 */
	private static function not_writable() {
		/* translators: %s: a folder. */
		return sprintf( __( 'The loader could not be written to %s: make the folder writable for PHP, or copy wp-content/plugins/keybridge/mu-plugin/keybridge-constants.php there yourself.', 'keybridge' ), WPMU_PLUGIN_DIR );
	}
}
