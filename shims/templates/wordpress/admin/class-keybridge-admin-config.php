<?php
/**
 * The configuration the admin-ui bundle reads (window.keybridgeAdmin).
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Builds window.keybridgeAdmin: where the REST route is, the nonce, the status rows and
 * forms of spec.yaml with their labels translated, WordPress's admin classes and the
 * bundle's own strings. It holds no value, KEK or token.
 */
class Keybridge_Admin_Config {

	/**
	 * The whole configuration.
	 *
	 * @return array
	 */
	public static function build() {
		return array(
			'endpoint'      => self::endpoint(),
			'headers'       => array( 'X-WP-Nonce' => wp_create_nonce( 'wp_rest' ) ),
			'statusRows'    => self::status_rows(),
			'statusActions' => self::status_actions(),
			'forms'         => self::forms(),
			'classes'       => array(
				'table'        => 'widefat striped',
				'button'       => 'button',
				'primary'      => 'button button-primary',
				'notice'       => 'notice inline',
				'error'        => 'notice-error',
				'success'      => 'notice-success',
				'icon_ok'      => 'dashicons dashicons-yes-alt',
				'icon_warning' => 'dashicons dashicons-warning',
				'icon_error'   => 'dashicons dashicons-dismiss',
			),
			'strings'       => self::strings(),
		);
	}

	/**
	 * The route's URL, to which the bundle appends an operation id.
	 *
	 * The `?rest_route=` form works on every server, where `/wp-json/…/op/keys.set` does not:
	 * operation ids contain a dot, and a server that takes a dotted last path segment for a
	 * static file (php -S, nginx rules for assets) answers 404 without asking WordPress.
	 *
	 * @return string
	 */
	private static function endpoint() {
		return add_query_arg( 'rest_route', '/' . Keybridge_Rest::ROUTE_NAMESPACE . '/op/', home_url( '/index.php' ) );
	}

	/**
	 * Status row id → translated title.
	 *
	 * @return array
	 */
	public static function status_titles() {
		$titles = array();
		foreach ( self::status_rows() as $row ) {
			$titles[ $row['id'] ] = $row['title'];
		}
		return $titles;
	}

	/**
	 * The status rows of spec.yaml, titles translated.
	 *
	 * @return array[] Each with id and title, in the spec's order.
	 */
	private static function status_rows() {
		$rows = array();
		foreach ( Keybridge_Spec::STATUS_ROWS as $id => $title ) {
			$rows[] = array(
				'id'    => $id,
				'title' => self::translate( $title ),
			);
		}
		return $rows;
	}

	/**
	 * What each status action asks, as this page says it: a sentence and the form that does it.
	 *
	 * @return array Action id => array( text, form ).
	 */
	private static function status_actions() {
		$actions = array();
		foreach ( Keybridge_Spec::STATUS_ACTIONS as $id => $wording ) {
			$actions[ $id ] = array(
				'text' => self::translate( $wording['page'] ),
				'form' => $wording['form'],
			);
		}
		return $actions;
	}

	/**
	 * The forms of spec.yaml with every text a person reads translated.
	 *
	 * @return array[]
	 */
	private static function forms() {
		$forms = array();
		foreach ( Keybridge_Spec::FORMS as $form ) {
			foreach ( array( 'title', 'submit', 'help', 'confirm' ) as $text ) {
				if ( isset( $form[ $text ] ) ) {
					$form[ $text ] = self::translate( $form[ $text ] );
				}
			}
			foreach ( $form['fields'] as $index => $field ) {
				foreach ( array( 'label', 'help' ) as $text ) {
					if ( isset( $field[ $text ] ) ) {
						$form['fields'][ $index ][ $text ] = self::translate( $field[ $text ] );
					}
				}
			}
			$forms[] = $form;
		}
		return $forms;
	}

	/**
	 * Translates a text that comes from spec.yaml.
	 *
	 * @param string $text English text.
	 * @return string
	 */
	private static function translate( $text ) {
		// phpcs:ignore WordPress.WP.I18n.NonSingularStringLiteralText -- the texts are spec.yaml's; translators get them from it.
		return __( $text, 'keybridge' );
	}

	/**
	 * The bundle's own texts.
	 *
	 * @return array
	 */
	private static function strings() {
		return array(
			'statusHeading'      => __( 'Status', 'keybridge' ),
			'keysHeading'        => __( 'Keys', 'keybridge' ),
			'check'              => __( 'Check', 'keybridge' ),
			'state'              => __( 'State', 'keybridge' ),
			'value'              => __( 'Value', 'keybridge' ),
			'help'               => __( 'What to do', 'keybridge' ),
			'ok'                 => __( 'OK', 'keybridge' ),
			'warning'            => __( 'Warning', 'keybridge' ),
			'error'              => __( 'Error', 'keybridge' ),
			'loading'            => __( 'Loading…', 'keybridge' ),
			'agentDown'          => __( 'The keybridge agent cannot be reached, so keys cannot be read or changed. Start the agent, then reload this page.', 'keybridge' ),
			/* translators: %s: why the list failed. */
			'keysUnavailable'    => __( 'The keys cannot be listed: %s', 'keybridge' ),
			'noKeys'             => __( 'No keys are stored in this environment yet.', 'keybridge' ),
			'moreKeys'           => __( 'Show more keys', 'keybridge' ),
			'name'               => __( 'Name', 'keybridge' ),
			'label'              => __( 'Label', 'keybridge' ),
			'version'            => __( 'Version', 'keybridge' ),
			'updated'            => __( 'Updated', 'keybridge' ),
			'reads'              => __( 'Reads', 'keybridge' ),
			'actions'            => __( 'Actions', 'keybridge' ),
			'rotate'             => __( 'Rotate', 'keybridge' ),
			'delete'             => __( 'Delete', 'keybridge' ),
			'cancel'             => __( 'Cancel', 'keybridge' ),
			/* translators: %s: key name. */
			'confirmDelete'      => __( 'Delete the key “%s” from this environment? Its value cannot be recovered.', 'keybridge' ),
			/* translators: %s: key name. */
			'keySaved'           => __( 'Key “%s” saved.', 'keybridge' ),
			/* translators: %s: key name. */
			'keyGenerated'       => __( 'Key “%s” generated.', 'keybridge' ),
			/* translators: %s: key name. */
			'keyRotated'         => __( 'Key “%s” rotated.', 'keybridge' ),
			/* translators: %s: key name. */
			'keyDeleted'         => __( 'Key “%s” deleted.', 'keybridge' ),
			'registered'         => __( 'This site is registered.', 'keybridge' ),
			'certificateCreated' => __( 'The new certificate is installed.', 'keybridge' ),
			'productionIssued'   => __( 'This site is now in production.', 'keybridge' ),
			'productionPending'  => __( 'The move to production waits for the key service operator’s approval.', 'keybridge' ),
			'done'               => __( 'Done.', 'keybridge' ),
			/* translators: %s: HTTP status code. */
			'requestFailed'      => __( 'The request failed (HTTP %s).', 'keybridge' ),
			'networkFailed'      => __( 'The site did not answer. Check your connection and try again.', 'keybridge' ),
		);
	}
}
