<?php
/**
 * The settings page's own operations (not the agent's).
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * What the settings page does in WordPress itself, through the same REST route as the agent's
 * operations (Keybridge_Rest checks the capability, the nonce and these request shapes):
 * protected options, constants, usage and allow lists. All of them act on the current site
 * only, so a site's administrator may run them on a network. None answers a value or a KEK.
 */
class Keybridge_Site_Operations {

	/**
	 * Operation id => request shape (properties: name => JSON type; required).
	 */
	const OPERATIONS = array(
		'options.list'      => array(
			'properties' => array(),
			'required'   => array(),
		),
		'options.protect'   => array(
			'properties' => array( 'option' => array( 'type' => 'string' ) ),
			'required'   => array( 'option' ),
		),
		'options.unprotect' => array(
			'properties' => array( 'option' => array( 'type' => 'string' ) ),
			'required'   => array( 'option' ),
		),
		'constants.list'    => array(
			'properties' => array(),
			'required'   => array(),
		),
		'constants.map'     => array(
			'properties' => array(
				'constant' => array( 'type' => 'string' ),
				'key'      => array( 'type' => 'string' ),
			),
			'required'   => array( 'constant', 'key' ),
		),
		'constants.unmap'   => array(
			'properties' => array( 'constant' => array( 'type' => 'string' ) ),
			'required'   => array( 'constant' ),
		),
		'constants.install' => array(
			'properties' => array(),
			'required'   => array(),
		),
		'usage.list'        => array(
			'properties' => array(),
			'required'   => array(),
		),
		'access.set'        => array(
			'properties' => array(
				'name'    => array( 'type' => 'string' ),
				'callers' => array( 'type' => 'string' ),
			),
			'required'   => array( 'name' ),
		),
	);

	/**
	 * Runs one operation.
	 *
	 * @param string $operation A key of OPERATIONS.
	 * @param array  $body      Checked request fields.
	 * @return array The answer.
	 * @throws Keybridge_Exception Any problem type.
	 */
	public static function run( $operation, array $body ) {
		switch ( $operation ) {
			case 'options.protect':
				Keybridge_Protected_Options::protect( $body['option'] );
				return self::options( array( 'option' => trim( $body['option'] ) ) );
			case 'options.unprotect':
				Keybridge_Protected_Options::unprotect( $body['option'] );
				return self::options( array( 'option' => trim( $body['option'] ) ) );
			case 'constants.map':
				Keybridge_Constants::set( $body['constant'], $body['key'] );
				return self::constants( array( 'constant' => trim( $body['constant'] ) ) );
			case 'constants.unmap':
				Keybridge_Constants::remove( $body['constant'] );
				return self::constants( array( 'constant' => $body['constant'] ) );
			case 'constants.install':
				Keybridge_Constants::install_loader();
				return self::constants();
			case 'constants.list':
				return self::constants();
			case 'usage.list':
				return self::usage();
			case 'access.set':
				$callers = preg_split( '/[\s,]+/', isset( $body['callers'] ) ? trim( $body['callers'] ) : '', -1, PREG_SPLIT_NO_EMPTY );
				Keybridge_Usage::set_allowed( $body['name'], $callers );
				return self::usage( array( 'name' => $body['name'] ) );
			default:
				return self::options();
		}
	}

	/**
	 * The protected options of this site.
	 *
	 * @param array $extra Fields to add to the answer.
	 * @return array
	 */
	private static function options( array $extra = array() ) {
		$options = array();
		foreach ( Keybridge_Protected_Options::names() as $option ) {
			$options[] = array(
				'option' => $option,
				'key'    => Keybridge_Protected_Options::key_name( $option ),
			);
		}
		return $extra + array( 'options' => $options );
	}

	/**
	 * The constants map of this site and what the loader did in this request.
	 *
	 * @param array $extra Fields to add to the answer.
	 * @return array
	 */
	private static function constants( array $extra = array() ) {
		$outcome   = Keybridge_Constants::outcome();
		$constants = array();
		foreach ( Keybridge_Constants::map() as $constant => $key ) {
			$constant    = (string) $constant;
			$constants[] = array(
				'constant' => $constant,
				'key'      => (string) $key,
				// Defined before the loader ran means wp-config.php (or an earlier mu-plugin).
				'state'    => isset( $outcome[ $constant ] ) ? $outcome[ $constant ][0] : 'not-loaded',
				'detail'   => isset( $outcome[ $constant ] ) ? $outcome[ $constant ][1] : '',
			);
		}
		return $extra + array(
			'constants'        => $constants,
			'loader_installed' => Keybridge_Constants::loader_installed(),
			'loader_path'      => Keybridge_Constants::loader_path(),
		);
	}

	/**
	 * Who read which key on this site, and the allow lists.
	 *
	 * @param array $extra Fields to add to the answer.
	 * @return array
	 */
	private static function usage( array $extra = array() ) {
		$allow = array();
		foreach ( Keybridge_Keks::names() as $name ) {
			$callers = Keybridge_Usage::allowed( $name );
			if ( array() !== $callers ) {
				$allow[] = array(
					'name'    => $name,
					'callers' => $callers,
				);
			}
		}
		return $extra + array(
			'usage'    => Keybridge_Usage::summary(),
			'allow'    => $allow,
			// Without APCu the counts go to the key service's audit only.
			'counting' => function_exists( 'apcu_enabled' ) && apcu_enabled() ? 'apcu' : 'audit-only',
		);
	}
}
