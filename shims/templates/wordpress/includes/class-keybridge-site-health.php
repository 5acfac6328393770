<?php
/**
 * Site Health: the status table as tests and as a debug section.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * One direct Site Health test per status row (ok → good, warning → recommended,
 * error → critical) and a "Keybridge" section under Site Health → Info. The status is fetched
 * once per request (Keybridge_Status::fetch()), however many tests read it. keybridge.php hooks
 * add_tests() and add_debug_information() by class name, so this class loads only there.
 */
class Keybridge_Site_Health {

	/**
	 * Site Health status for each row severity.
	 */
	const STATUS_FOR_SEVERITY = array(
		'ok'      => 'good',
		'warning' => 'recommended',
		'error'   => 'critical',
	);

	/**
	 * Filter `site_status_tests`: one direct test per spec status row.
	 *
	 * @param array $tests Tests by type.
	 * @return array
	 */
	public static function add_tests( $tests ) {
		foreach ( Keybridge_Spec::STATUS_ROWS as $id => $title ) {
			$tests['direct'][ self::test_id( $id ) ] = array(
				/* translators: %s: status row title. */
				'label' => sprintf( __( 'Keybridge: %s', 'keybridge' ), $title ),
				'test'  => static function () use ( $id ) {
					return Keybridge_Site_Health::run( $id );
				},
			);
		}
		return $tests;
	}

	/**
	 * The result of the test for one row.
	 *
	 * @param string $id Status row id.
	 * @return array Site Health test result.
	 */
	public static function run( $id ) {
		$row = self::row( $id );
		if ( isset( self::STATUS_FOR_SEVERITY[ $row['severity'] ] ) ) {
			$status = self::STATUS_FOR_SEVERITY[ $row['severity'] ];
		} else {
			$status = 'recommended';
		}
		$description = '<p>' . esc_html( $row['value'] ) . '</p>';
		$todo        = Keybridge_Status::what_to_do( $row, 'page' );
		if ( '' !== $todo ) {
			$description .= '<p>' . esc_html( $todo ) . '</p>';
		}
		return array(
			/* translators: 1: status row title, 2: its value. */
			'label'       => sprintf( __( 'Keybridge: %1$s: %2$s', 'keybridge' ), $row['title'], $row['value'] ),
			'status'      => $status,
			'badge'       => array(
				'label' => __( 'Security', 'keybridge' ),
				'color' => 'critical' === $status ? 'red' : 'blue',
			),
			'description' => $description,
			'actions'     => self::actions(),
			'test'        => self::test_id( $id ),
		);
	}

	/**
	 * Filter `debug_information`: the table under Site Health → Info.
	 *
	 * @param array $info Sections.
	 * @return array
	 */
	public static function add_debug_information( $info ) {
		$fields = array();
		foreach ( Keybridge_Status::fetch()['rows'] as $row ) {
			$fields[ $row['id'] ] = array(
				'label' => $row['title'],
				'value' => $row['severity'] . ': ' . $row['value'],
			);
		}
		$fields['keks']              = array(
			'label' => __( 'Keys this site holds a wrapping key for', 'keybridge' ),
			'value' => (string) count( Keybridge_Keks::names() ),
		);
		$fields['protected-options'] = array(
			'label' => __( 'Protected options', 'keybridge' ),
			'value' => implode( ', ', Keybridge_Protected_Options::names() ),
		);
		$info['keybridge']           = array(
			'label'  => __( 'Keybridge', 'keybridge' ),
			'fields' => $fields,
		);
		return $info;
	}

	/**
	 * A row of this request's status table by id (a warning row if the agent omitted it).
	 *
	 * @param string $id Status row id.
	 * @return array
	 */
	private static function row( $id ) {
		foreach ( Keybridge_Status::fetch()['rows'] as $row ) {
			if ( $row['id'] === $id ) {
				return $row;
			}
		}
		return array(
			'id'       => $id,
			'title'    => isset( Keybridge_Spec::STATUS_ROWS[ $id ] ) ? Keybridge_Spec::STATUS_ROWS[ $id ] : $id,
			'severity' => 'warning',
			'value'    => __( 'not reported by the agent', 'keybridge' ),
			'help'     => '',
			'action'   => '',
		);
	}

	/**
	 * The link to the settings page, where the problems can be fixed.
	 *
	 * @return string
	 */
	private static function actions() {
		return sprintf(
			'<p><a href="%s">%s</a></p>',
			esc_url( admin_url( 'options-general.php?page=keybridge' ) ),
			esc_html__( 'Open the Keybridge settings', 'keybridge' )
		);
	}

	/**
	 * The Site Health test id for a row.
	 *
	 * @param string $id Status row id.
	 * @return string
	 */
	private static function test_id( $id ) {
		return 'keybridge_' . str_replace( '-', '_', $id );
	}
}
