<?php
/**
 * Settings → Keybridge.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The settings page: the admin-ui bundle (status table, keys, forms) plus what PHP alone can
 * show — a server-rendered status table for browsers without JavaScript, the protected
 * options and the configuration lines (the token file's path, never the token).
 */
class Keybridge_Admin_Page {

	const SLUG = 'keybridge';

	/**
	 * The page's hook suffix from add_options_page(), to load the assets on it only.
	 *
	 * @var string
	 */
	private static $hook_suffix = '';

	/**
	 * Hooks the page into the admin.
	 *
	 * @return void
	 */
	public static function register() {
		add_action( 'admin_menu', array( __CLASS__, 'add_page' ) );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'enqueue' ) );
	}

	/**
	 * Adds Settings → Keybridge for users who may manage options.
	 *
	 * @return void
	 */
	public static function add_page() {
		$hook_suffix       = add_options_page(
			__( 'Keybridge', 'keybridge' ),
			__( 'Keybridge', 'keybridge' ),
			'manage_options',
			self::SLUG,
			array( __CLASS__, 'render' )
		);
		self::$hook_suffix = is_string( $hook_suffix ) ? $hook_suffix : '';
	}

	/**
	 * Loads the bundle and its configuration on this page only.
	 *
	 * @param string $hook_suffix The current admin page.
	 * @return void
	 */
	public static function enqueue( $hook_suffix ) {
		if ( '' === self::$hook_suffix || self::$hook_suffix !== $hook_suffix ) {
			return;
		}
		$plugin_file = dirname( __DIR__ ) . '/keybridge.php';
		wp_enqueue_style( 'keybridge-admin', plugins_url( 'assets/keybridge-admin.css', $plugin_file ), array( 'dashicons' ), self::asset_version( 'keybridge-admin.css' ) );
		wp_enqueue_script( 'keybridge-admin', plugins_url( 'assets/keybridge-admin.js', $plugin_file ), array(), self::asset_version( 'keybridge-admin.js' ), true );
		wp_add_inline_script( 'keybridge-admin', 'window.keybridgeAdmin = ' . wp_json_encode( Keybridge_Admin_Config::build() ) . ';', 'before' );
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
	 * Prints the page.
	 *
	 * @return void
	 */
	public static function render() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$status = Keybridge_Status::fetch();
		echo '<div class="wrap">';
		echo '<h1>' . esc_html__( 'Keybridge', 'keybridge' ) . '</h1>';
		echo '<div id="keybridge-admin">';
		echo '<noscript>';
		echo '<p>' . esc_html__( 'The forms on this page need JavaScript. The status as of this page load:', 'keybridge' ) . '</p>';
		self::render_status_table( $status );
		echo '</noscript>';
		echo '</div>';
		self::render_protected_options();
		self::render_configuration();
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
	 * The options whose values keybridge holds (read-only here; WP-CLI changes the list).
	 *
	 * @return void
	 */
	private static function render_protected_options() {
		$names = Keybridge_Protected_Options::names();
		echo '<h2>' . esc_html__( 'Protected options', 'keybridge' ) . '</h2>';
		echo '<p>' . esc_html__( 'These options keep only a reference in the database; their values are stored in keybridge. Manage the list with wp keybridge option protect|unprotect.', 'keybridge' ) . '</p>';
		if ( array() === $names ) {
			echo '<p><em>' . esc_html__( 'No option is protected.', 'keybridge' ) . '</em></p>';
			return;
		}
		echo '<ul class="ul-disc">';
		foreach ( $names as $name ) {
			echo '<li><code>' . esc_html( (string) $name ) . '</code></li>';
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
	}
}
