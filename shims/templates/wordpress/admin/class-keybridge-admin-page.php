<?php
/**
 * Settings → Keybridge (and, on a network, Network Admin → Settings → Keybridge).
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The settings page: the admin-ui bundle (tabs for status, keys, protected options and
 * constants, certificate, advanced) plus what PHP alone can show — a server-rendered status
 * table and lists for browsers without JavaScript, and the configuration lines (the token
 * file's path, never the token).
 *
 * On a multisite network there are two pages: Settings → Keybridge of each site (its keys,
 * options and constants: `manage_options`) and Network Admin → Settings → Keybridge (the
 * certificate, registration and the move to production, which the whole network shares:
 * `manage_network_options`).
 */
class Keybridge_Admin_Page {

	const SLUG = 'keybridge';

	/**
	 * The pages' hook suffixes => their context (site or network), to load the assets there only.
	 *
	 * @var array<string, string>
	 */
	private static $hook_suffixes = array();

	/**
	 * Hooks the pages into the admin.
	 *
	 * @return void
	 */
	public static function register() {
		add_action( 'admin_menu', array( __CLASS__, 'add_page' ) );
		add_action( 'network_admin_menu', array( __CLASS__, 'add_network_page' ) );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'enqueue' ) );
	}

	/**
	 * Adds Settings → Keybridge for users who may manage the site's options.
	 *
	 * @return void
	 */
	public static function add_page() {
		self::remember( add_options_page( __( 'Keybridge', 'keybridge' ), __( 'Keybridge', 'keybridge' ), 'manage_options', self::SLUG, array( __CLASS__, 'render' ) ), 'site' );
	}

	/**
	 * Adds Network Admin → Settings → Keybridge for network administrators.
	 *
	 * @return void
	 */
	public static function add_network_page() {
		self::remember( add_submenu_page( 'settings.php', __( 'Keybridge', 'keybridge' ), __( 'Keybridge', 'keybridge' ), 'manage_network_options', self::SLUG, array( __CLASS__, 'render_network' ) ), 'network' );
	}

	/**
	 * Keeps a page's hook suffix.
	 *
	 * @param string|false $hook_suffix What add_*_page() returned.
	 * @param string       $context     site or network.
	 * @return void
	 */
	private static function remember( $hook_suffix, $context ) {
		if ( is_string( $hook_suffix ) && '' !== $hook_suffix ) {
			self::$hook_suffixes[ $hook_suffix ] = $context;
		}
	}

	/**
	 * Loads the bundle and its configuration on these pages only.
	 *
	 * @param string $hook_suffix The current admin page.
	 * @return void
	 */
	public static function enqueue( $hook_suffix ) {
		if ( ! isset( self::$hook_suffixes[ $hook_suffix ] ) ) {
			return;
		}
		$context     = self::$hook_suffixes[ $hook_suffix ];
		$plugin_file = dirname( __DIR__ ) . '/keybridge.php';
		wp_enqueue_style( 'keybridge-admin', plugins_url( 'assets/keybridge-admin.css', $plugin_file ), array( 'dashicons' ), self::asset_version( 'keybridge-admin.css' ) );
		wp_enqueue_script( 'keybridge-admin', plugins_url( 'assets/keybridge-admin.js', $plugin_file ), array(), self::asset_version( 'keybridge-admin.js' ), true );
		wp_add_inline_script( 'keybridge-admin', 'window.keybridgeAdmin = ' . wp_json_encode( Keybridge_Admin_Config::build( $context ) ) . ';', 'before' );
		if ( 'site' === $context ) {
			wp_enqueue_script( 'keybridge-admin-site', plugins_url( 'assets/keybridge-admin-site.js', $plugin_file ), array( 'keybridge-admin' ), self::asset_version( 'keybridge-admin-site.js' ), true );
		}
	}

	/**
	 * A version that changes with the file, so browsers drop a cached old bundle.
	 *
	 * @param string $file File name in assets/.
	 * @return string
	 */
	private static function asset_version( $file ) {
		$path = dirname( __DIR__ ) . '/assets/' . $file;
		return file_exists( $path ) ? (string) filemtime( $path ) : '0';
	}

	/**
	 * Prints a site's page.
	 *
	 * @return void
	 */
	public static function render() {
		if ( current_user_can( 'manage_options' ) ) {
			self::render_page( 'site' );
		}
	}

	/**
	 * Prints the network's page.
	 *
	 * @return void
	 */
	public static function render_network() {
		if ( current_user_can( 'manage_network_options' ) ) {
			self::render_page( 'network' );
		}
	}

	/**
	 * Prints a page: the bundle's container, what shows without JavaScript, the configuration.
	 *
	 * @param string $context site or network.
	 * @return void
	 */
	private static function render_page( $context ) {
		$status = Keybridge_Status::fetch();
		if ( 'site' === $context ) {
			$status = Keybridge_Status::for_this_site( $status );
		}
		echo '<div class="wrap">';
		echo '<h1>' . esc_html( 'network' === $context ? __( 'Keybridge for the network', 'keybridge' ) : __( 'Keybridge', 'keybridge' ) ) . '</h1>';
		echo '<div id="keybridge-admin" data-context="' . esc_attr( $context ) . '">';
		echo '<noscript>';
		echo '<p>' . esc_html__( 'The forms on this page need JavaScript. The status as of this page load:', 'keybridge' ) . '</p>';
		self::render_status_table( $status );
		if ( 'site' === $context ) {
			self::render_protected_options();
			self::render_constants();
		}
		echo '</noscript>';
		self::render_configuration();
		echo '</div>';
		echo '</div>';
	}

	/**
	 * The status table as plain HTML (severity as text, not colour alone).
	 *
	 * @param array $status Keybridge_Status::fetch() result.
	 * @return void
	 */
	private static function render_status_table( array $status ) {
		$titles = Keybridge_Admin_Config::status_titles();
		$words  = array(
			'ok'      => __( 'OK', 'keybridge' ),
			'warning' => __( 'Warning', 'keybridge' ),
			'error'   => __( 'Error', 'keybridge' ),
		);
		echo '<table class="widefat striped"><thead><tr>';
		echo '<th scope="col">' . esc_html__( 'Check', 'keybridge' ) . '</th>';
		echo '<th scope="col">' . esc_html__( 'State', 'keybridge' ) . '</th>';
		echo '<th scope="col">' . esc_html__( 'Value', 'keybridge' ) . '</th>';
		echo '<th scope="col">' . esc_html__( 'What to do', 'keybridge' ) . '</th>';
		echo '</tr></thead><tbody>';
		foreach ( isset( $status['rows'] ) ? $status['rows'] : array() as $row ) {
			$id       = (string) $row['id'];
			$severity = isset( $words[ $row['severity'] ] ) ? $row['severity'] : 'error';
			echo '<tr>';
			echo '<th scope="row">' . esc_html( isset( $titles[ $id ] ) ? $titles[ $id ] : (string) $row['title'] ) . '</th>';
			echo '<td>' . esc_html( $words[ $severity ] ) . '</td>';
			echo '<td>' . esc_html( (string) $row['value'] ) . '</td>';
			// Without JavaScript the page has no forms: say what to run instead.
			echo '<td>' . esc_html( Keybridge_Status::what_to_do( $row, 'wp_cli' ) ) . '</td>';
			echo '</tr>';
		}
		echo '</tbody></table>';
	}

	/**
	 * The options whose values keybridge holds (the page's list has buttons; this is the list
	 * without JavaScript).
	 *
	 * @return void
	 */
	private static function render_protected_options() {
		$names = Keybridge_Protected_Options::names();
		echo '<h2>' . esc_html__( 'Protected options', 'keybridge' ) . '</h2>';
		echo '<p>' . esc_html__( 'These options keep only a reference in the database; their values are stored in keybridge. Without JavaScript, manage the list with wp keybridge option protect|unprotect.', 'keybridge' ) . '</p>';
		self::render_list( $names, __( 'No option is protected.', 'keybridge' ) );
	}

	/**
	 * The constants defined from keybridge (the list without JavaScript).
	 *
	 * @return void
	 */
	private static function render_constants() {
		$lines = array();
		foreach ( Keybridge_Constants::map() as $constant => $key ) {
			$lines[] = $constant . ' ← ' . $key;
		}
		echo '<h2>' . esc_html__( 'Constants defined from keybridge', 'keybridge' ) . '</h2>';
		self::render_list( $lines, __( 'No constant is defined from keybridge.', 'keybridge' ) );
	}

	/**
	 * A list of code items, or a line saying there are none.
	 *
	 * @param string[] $items Items.
	 * @param string   $none  What to say when there are none.
	 * @return void
	 */
	private static function render_list( array $items, $none ) {
		if ( array() === $items ) {
			echo '<p><em>' . esc_html( $none ) . '</em></p>';
			return;
		}
		echo '<ul class="ul-disc">';
		foreach ( $items as $item ) {
			echo '<li><code>' . esc_html( (string) $item ) . '</code></li>';
		}
		echo '</ul>';
	}

	/**
	 * Where the plugin finds its agent (the constants in wp-config.php).
	 *
	 * @return void
	 */
	private static function render_configuration() {
		$agent      = defined( 'KEYBRIDGE_AGENT' ) ? (string) KEYBRIDGE_AGENT : '';
		$token_file = defined( 'KEYBRIDGE_TOKEN_FILE' ) ? (string) KEYBRIDGE_TOKEN_FILE : '';
		$not_set    = __( 'not set', 'keybridge' );
		if ( '' === $token_file ) {
			$token_state = '';
		} elseif ( is_readable( $token_file ) ) {
			$token_state = __( 'readable', 'keybridge' );
		} else {
			$token_state = __( 'not readable by PHP', 'keybridge' );
		}
		echo '<section id="kb-configuration" class="kb-section">';
		echo '<h2>' . esc_html__( 'Configuration', 'keybridge' ) . '</h2>';
		echo '<p>' . esc_html__( 'Set in wp-config.php; keybridge up prints both lines. The token itself is never shown.', 'keybridge' ) . '</p>';
		echo '<table class="form-table" role="presentation"><tbody>';
		echo '<tr><th scope="row"><code>KEYBRIDGE_AGENT</code></th><td><code>' . esc_html( '' === $agent ? $not_set : $agent ) . '</code></td></tr>';
		echo '<tr><th scope="row"><code>KEYBRIDGE_TOKEN_FILE</code></th><td><code>' . esc_html( '' === $token_file ? $not_set : $token_file ) . '</code>';
		if ( '' !== $token_state ) {
			echo ' (' . esc_html( $token_state ) . ')';
		}
		echo '</td></tr>';
		echo '</tbody></table>';
		echo '</section>';
	}
}
