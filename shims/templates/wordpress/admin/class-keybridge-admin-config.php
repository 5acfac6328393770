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
	 * The whole configuration for one page.
	 *
	 * @param string $context `site` (Settings → Keybridge) or `network` (Network Admin →
	 *                        Settings → Keybridge on a multisite network).
	 * @return array
	 */
	public static function build( $context = 'site' ) {
		return array(
			'endpoint'        => self::endpoint(),
			'headers'         => array( 'X-WP-Nonce' => wp_create_nonce( 'wp_rest' ) ),
			'context'         => $context,
			'sections'        => self::sections( $context ),
			'statusRows'      => self::status_rows(),
			'statusActions'   => self::status_actions( $context ),
			'forms'           => self::forms( $context ),
			'siteOperations'  => 'site' === $context,
			'successMessages' => self::success_messages(),
			'classes'         => array(
				'table'        => 'widefat striped',
				'button'       => 'button',
				'primary'      => 'button button-primary',
				'notice'       => 'notice inline',
				'error'        => 'notice-error',
				'success'      => 'notice-success',
				'icon_ok'      => 'dashicons dashicons-yes-alt',
				'icon_warning' => 'dashicons dashicons-warning',
				'icon_error'   => 'dashicons dashicons-dismiss',
				'tabs'         => 'nav-tab-wrapper wp-clearfix',
				'tab'          => 'nav-tab',
				'tab_active'   => 'nav-tab-active',
			),
			'strings'         => self::strings(),
		);
	}

	/**
	 * The tabs of a page, in order: id => title. The network page has what the network
	 * shares (certificate, production); a site of a network has its keys, options and
	 * constants; a single site has all of them.
	 *
	 * @param string $context `site` or `network`.
	 * @return array[] Each with id and title.
	 */
	private static function sections( $context ) {
		$all = array(
			'status'      => __( 'Status', 'keybridge' ),
			'keys'        => __( 'Keys', 'keybridge' ),
			'options'     => __( 'Protected options and constants', 'keybridge' ),
			'certificate' => __( 'Certificate', 'keybridge' ),
			'advanced'    => __( 'Advanced', 'keybridge' ),
		);
		if ( 'network' === $context ) {
			unset( $all['keys'], $all['options'] );
		} elseif ( is_multisite() ) {
			unset( $all['certificate'] );
		}
		$sections = array();
		foreach ( $all as $id => $title ) {
			$sections[] = array(
				'id'    => $id,
				'title' => $title,
			);
		}
		return $sections;
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
	 * On a site of a network the network's own actions (registration, renewal) are a network
	 * administrator's: the page says so, with a link for one who is.
	 *
	 * @param string $context `site` or `network`.
	 * @return array Action id => array( text, form, href ).
	 */
	private static function status_actions( $context ) {
		$on_page = array();
		foreach ( self::forms( $context ) as $form ) {
			$on_page[ $form['id'] ] = true;
		}
		$actions = array();
		foreach ( Keybridge_Spec::STATUS_ACTIONS as $id => $wording ) {
			$actions[ $id ] = array(
				'text' => self::translate( $wording['page'] ),
				'form' => $wording['form'],
				'href' => '',
			);
			if ( ! isset( $on_page[ $wording['form'] ] ) && is_multisite() && 'site' === $context ) {
				$actions[ $id ] = array(
					'text' => __( 'A network administrator does this on Network Admin → Settings → Keybridge.', 'keybridge' ),
					'form' => '',
					'href' => current_user_can( 'manage_network_options' ) ? network_admin_url( 'settings.php?page=' . Keybridge_Admin_Page::SLUG ) : '',
				);
			}
		}
		return $actions;
	}

	/**
	 * The forms of a page: spec.yaml's (on a network, the network's operations on the network
	 * page and the others on a site's) and, on a site's page, this plugin's own; every text a
	 * person reads translated.
	 *
	 * @param string $context `site` or `network`.
	 * @return array[]
	 */
	private static function forms( $context ) {
		$forms = array();
		foreach ( Keybridge_Spec::FORMS as $form ) {
			$network_form = in_array( $form['operation'], Keybridge_Rest::NETWORK_OPERATIONS, true );
			if ( is_multisite() && ( 'network' === $context ) !== $network_form ) {
				continue;
			}
			$forms[] = self::translated( $form );
		}
		if ( 'site' === $context ) {
			foreach ( Keybridge_Admin_Site_Forms::all() as $form ) {
				$forms[] = $form;
			}
		}
		return $forms;
	}

	/**
	 * A form of spec.yaml with its texts translated.
	 *
	 * @param array $form The form.
	 * @return array
	 */
	private static function translated( array $form ) {
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
		return $form;
	}

	/**
	 * What the page says after this plugin's own operations succeed (%s: the option,
	 * constant or key the answer names).
	 *
	 * @return array Operation id => text.
	 */
	private static function success_messages() {
		return array(
			/* translators: %s: option name. */
			'options.protect'   => __( 'The value of %s is now kept in keybridge.', 'keybridge' ),
			/* translators: %s: option name. */
			'options.unprotect' => __( 'The value of %s is back in the database.', 'keybridge' ),
			/* translators: %s: constant name. */
			'constants.map'     => __( '%s is defined from keybridge from the next page on.', 'keybridge' ),
			/* translators: %s: constant name. */
			'constants.unmap'   => __( '%s is no longer defined from keybridge.', 'keybridge' ),
			'constants.install' => __( 'The loader is installed.', 'keybridge' ),
			/* translators: %s: key name. */
			'access.set'        => __( 'Who may read %s is saved.', 'keybridge' ),
		);
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
			'show'               => __( 'Show', 'keybridge' ),
			'hide'               => __( 'Hide', 'keybridge' ),
			/* translators: %s: a field's label. */
			'showField'          => __( 'Show %s', 'keybridge' ),
			'optionsHeading'     => __( 'Protected options', 'keybridge' ),
			'noOptions'          => __( 'No option is protected.', 'keybridge' ),
			'option'             => __( 'Option', 'keybridge' ),
			'key'                => __( 'Key', 'keybridge' ),
			'unprotect'          => __( 'Unprotect', 'keybridge' ),
			/* translators: %s: option name. */
			'confirmUnprotect'   => __( 'Put the value of %s back into the database?', 'keybridge' ),
			'constantsHeading'   => __( 'Constants defined from keybridge', 'keybridge' ),
			'noConstants'        => __( 'No constant is defined from keybridge.', 'keybridge' ),
			'constant'           => __( 'Constant', 'keybridge' ),
			'constantState'      => __( 'In this request', 'keybridge' ),
			'remove'             => __( 'Remove', 'keybridge' ),
			'installLoader'      => __( 'Install the loader', 'keybridge' ),
			/* translators: %s: a file path. */
			'loaderMissing'      => __( 'The loader is not installed, so no constant is defined from keybridge. It is one file: %s', 'keybridge' ),
			'stateDefined'       => __( 'defined from keybridge', 'keybridge' ),
			'stateKept'          => __( 'kept: already defined (wp-config.php)', 'keybridge' ),
			'stateFailed'        => __( 'not defined: the key could not be read', 'keybridge' ),
			'stateDenied'        => __( 'not defined: the key\'s allow list does not name the loader', 'keybridge' ),
			'stateNotLoaded'     => __( 'not defined: the loader did not run', 'keybridge' ),
			'usageHeading'       => __( 'Who read each key', 'keybridge' ),
			'noUsage'            => __( 'No read has been counted yet (counts arrive about once a minute).', 'keybridge' ),
			'usageAuditOnly'     => __( 'Without APCu, reads are recorded in the key service\'s audit only and not counted here.', 'keybridge' ),
			'caller'             => __( 'Read by', 'keybridge' ),
			'denied'             => __( 'Refused', 'keybridge' ),
			'lastRead'           => __( 'Last read', 'keybridge' ),
			'allowedCallers'     => __( 'Only these may read it', 'keybridge' ),
			'anyCaller'          => __( 'any code', 'keybridge' ),
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
