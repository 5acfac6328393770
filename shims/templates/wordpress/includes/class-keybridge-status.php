<?php
/**
 * The status table.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The agent's status table, or, when the agent cannot answer, a table of the same shape
 * whose `agent` row is red with the reason and what to do, and whose other rows are unknown.
 * Used by the settings page, Site Health and `wp keybridge status`; never a PHP fatal.
 */
class Keybridge_Status {

	/**
	 * This request's table (fetched once per request with the configured client).
	 *
	 * @var array|null
	 */
	private static $fetched = null;

	/**
	 * The status: environment, region, registered, rows (id, title, severity, value, help).
	 *
	 * @param Keybridge_Client|null $client A client, or null for the configured one (then the
	 *                                      answer is kept for the rest of the request).
	 * @return array
	 */
	public static function fetch( $client = null ) {
		if ( null === $client && null !== self::$fetched ) {
			return self::$fetched;
		}
		try {
			$status = ( null === $client ? Keybridge_Plugin::client() : $client )->status();
		} catch ( Keybridge_Exception $e ) {
			$status = self::unreachable( $e );
		}
		if ( null === $client ) {
			self::$fetched = $status;
		}
		return $status;
	}

	/**
	 * What to do about a row, in one surface's words: the row's help, then its action (spec.yaml
	 * status_actions) as WP-CLI says it (`wp_cli`: "Run: wp keybridge …") or as the settings page
	 * says it (`page`: the form to use there). Nothing for a green row.
	 *
	 * @param array  $row     A status row.
	 * @param string $surface `wp_cli` or `page`.
	 * @return string
	 */
	public static function what_to_do( array $row, $surface ) {
		$help   = isset( $row['help'] ) ? (string) $row['help'] : '';
		$action = isset( $row['action'] ) ? (string) $row['action'] : '';
		if ( 'ok' === $row['severity'] || ! isset( Keybridge_Spec::STATUS_ACTIONS[ $action ][ $surface ] ) ) {
			return $help;
		}
		$wording = Keybridge_Spec::STATUS_ACTIONS[ $action ][ $surface ];
		if ( 'wp_cli' === $surface ) {
			/* translators: %s: a WP-CLI command line. */
			$todo = sprintf( __( 'Run: %s', 'keybridge' ), $wording );
		} else {
			// phpcs:ignore WordPress.WP.I18n.NonSingularStringLiteralText -- the texts are spec.yaml's; translators get them from it.
			$todo = __( $wording, 'keybridge' );
		}
		return '' === $help ? $todo : $help . ' ' . $todo;
	}

	/**
	 * The table as this site shows it: on a network, the rows that name keys name this site's
	 * keys only (under the names the site uses); then the rows this plugin adds itself (the
	 * secrets defined as constants).
	 *
	 * @param array $status Keybridge_Status::fetch() result.
	 * @return array
	 */
	public static function for_this_site( array $status ) {
		foreach ( $status['rows'] as $index => $row ) {
			if ( 'keys-need-reset' === $row['id'] && 'ok' !== $row['severity'] && is_multisite() ) {
				$names = array();
				foreach ( array_map( 'trim', explode( ',', (string) $row['value'] ) ) as $agent_name ) {
					$name = Keybridge_Site_Names::from_agent( $agent_name );
					if ( null !== $name ) {
						$names[] = $name;
					}
				}
				if ( array() === $names ) {
					$row = array_merge(
						$row,
						array(
							'severity' => 'ok',
							'value'    => __( 'none', 'keybridge' ),
							'help'     => '',
							'action'   => '',
						)
					);
				} else {
					$row['value'] = implode( ', ', $names );
				}
				$status['rows'][ $index ] = $row;
			}
		}
		$constants = Keybridge_Constants::status_row();
		if ( null !== $constants ) {
			$status['rows'][] = $constants;
		}
		return $status;
	}

	/**
	 * Drops this request's table (after an operation that changes it, such as register).
	 *
	 * @return void
	 */
	public static function forget() {
		self::$fetched = null;
	}

	/**
	 * The table for an agent that did not answer.
	 *
	 * @param Keybridge_Exception $e Why.
	 * @return array
	 */
	public static function unreachable( Keybridge_Exception $e ) {
		$rows = array();
		foreach ( Keybridge_Spec::STATUS_ROWS as $id => $title ) {
			$rows[] = array(
				'id'       => $id,
				'title'    => $title,
				'severity' => 'warning',
				'value'    => __( 'unknown: the agent did not answer', 'keybridge' ),
				'help'     => '',
				'action'   => '',
			);
		}
		$rows[0] = array(
			'id'       => 'agent',
			'title'    => Keybridge_Spec::STATUS_ROWS['agent'],
			'severity' => 'error',
			'value'    => self::reason( $e ),
			'help'     => self::help( $e->problem_type() ),
			'action'   => '',
		);
		return array(
			'environment' => '',
			'region'      => '',
			'registered'  => false,
			'rows'        => $rows,
		);
	}

	/**
	 * The red row's value: the problem in plain words, with the configured address.
	 *
	 * @param Keybridge_Exception $e The problem.
	 * @return string
	 */
	private static function reason( Keybridge_Exception $e ) {
		$agent = Keybridge_Plugin::agent_address();
		switch ( $e->problem_type() ) {
			case 'agent-unreachable':
				/* translators: %s: agent address such as unix:/run/keybridge/agent.sock. */
				return sprintf( __( 'keybridge agent unreachable at %s', 'keybridge' ), $agent );
			case 'unauthorized':
				/* translators: %s: agent address. */
				return sprintf( __( 'the keybridge agent at %s refused the token', 'keybridge' ), $agent );
			default:
				return $e->problem_type() . ': ' . $e->getMessage();
		}
	}

	/**
	 * What the site owner can do about a problem.
	 *
	 * @param string $type Problem type.
	 * @return string
	 */
	private static function help( $type ) {
		switch ( $type ) {
			case 'not-configured':
				return __( 'Add define( \'KEYBRIDGE_AGENT\', … ) and define( \'KEYBRIDGE_TOKEN_FILE\', … ) to wp-config.php: `keybridge up` prints both lines.', 'keybridge' );
			case 'agent-unreachable':
				return __( 'Start the agent (`keybridge up` or `keybridge agent --config FILE`) and check that KEYBRIDGE_AGENT in wp-config.php names its socket or port.', 'keybridge' );
			case 'token-file-unreadable':
				return __( 'Check KEYBRIDGE_TOKEN_FILE in wp-config.php: the file must exist and be readable by the PHP user (mode 0600, outside the webroot).', 'keybridge' );
			case 'unauthorized':
				return __( 'KEYBRIDGE_TOKEN_FILE must be the agent.token file of this agent; it changes when the agent\'s home changes.', 'keybridge' );
			default:
				return __( 'Check the agent\'s log; `keybridge status` on the host shows the same table.', 'keybridge' );
		}
	}
}
