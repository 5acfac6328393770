<?php
/**
 * The REST route the admin screen calls.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * `POST /wp-json/keybridge/v1/op/<operation-id>`: forwards the operations of
 * Keybridge_Spec::ADMIN_OPERATIONS to the agent for an administrator, and runs this plugin's
 * own site operations (Keybridge_Site_Operations: protected options, constants, usage).
 *
 * On a multisite network the certificate, registration and production operations act for
 * the whole network (one agent, one vault), so they need `manage_network_options`; a site's
 * administrator manages that site's keys only (Keybridge_Site_Names keeps them apart).
 *
 * The browser never talks to the agent and never sees its token or a KEK: key operations go
 * through Keybridge_Keys, which adds the KEK this site holds and keeps the one the agent
 * returns, and `wrapping_key` is taken out of every answer. WordPress's cookie authentication
 * only logs a request in when it carries the `wp_rest` nonce, so a request without one is an
 * anonymous request here and fails the capability check before anything reaches the agent.
 */
class Keybridge_Rest {

	const ROUTE_NAMESPACE = 'keybridge/v1';

	/**
	 * Operations that only read, so GET may call them too.
	 */
	const READ_OPERATIONS = array( 'status', 'keys.list', 'options.list', 'constants.list', 'usage.list' );

	/**
	 * Operations that change what the whole network uses: network administrators only.
	 */
	const NETWORK_OPERATIONS = array( 'register', 'certificates.create', 'certificates.renew', 'production' );

	/**
	 * HTTP status for the client-side problem types, which carry no agent status.
	 */
	const CLIENT_STATUS = array(
		'not-configured'         => 503,
		'token-file-unreadable'  => 503,
		'agent-unreachable'      => 502,
		'agent-response-invalid' => 502,
	);

	/**
	 * Registers the route (on `rest_api_init`).
	 *
	 * @return void
	 */
	public static function register_routes() {
		register_rest_route(
			self::ROUTE_NAMESPACE,
			'/op/(?P<operation>[a-z][a-z.]*)',
			array(
				'methods'             => array( 'GET', 'POST' ),
				'callback'            => array( __CLASS__, 'handle' ),
				'permission_callback' => array( __CLASS__, 'can_manage' ),
			)
		);
	}

	/**
	 * Only administrators (`manage_options`) may use the route; on a network, the network's
	 * own operations need `manage_network_options`.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return bool
	 */
	public static function can_manage( $request ) {
		$url_params = $request instanceof WP_REST_Request ? $request->get_url_params() : array();
		$operation  = isset( $url_params['operation'] ) ? (string) $url_params['operation'] : '';
		return current_user_can( self::capability( $operation ) );
	}

	/**
	 * The capability an operation needs.
	 *
	 * @param string $operation Operation id.
	 * @return string
	 */
	public static function capability( $operation ) {
		return is_multisite() && in_array( $operation, self::NETWORK_OPERATIONS, true ) ? 'manage_network_options' : 'manage_options';
	}

	/**
	 * Runs one admin operation.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response The agent's answer without KEKs, or a problem.
	 */
	public static function handle( WP_REST_Request $request ) {
		// WordPress sends its no-cache headers for logged-in users after the response's own,
		// replacing our Cache-Control: make its list say no-store too, for this request.
		add_filter( 'nocache_headers', array( __CLASS__, 'no_store' ) );

		// The URL's operation, never a same-named body field (get_param() would prefer the body).
		$url_params = $request->get_url_params();
		$operation  = isset( $url_params['operation'] ) ? (string) $url_params['operation'] : '';

		$site_operation = isset( Keybridge_Site_Operations::OPERATIONS[ $operation ] );
		if ( ! $site_operation && ! in_array( $operation, Keybridge_Spec::ADMIN_OPERATIONS, true ) ) {
			return self::problem( 'not-found', __( 'This operation is not available from the admin screen.', 'keybridge' ), 404 );
		}
		if ( 'GET' === $request->get_method() && ! in_array( $operation, self::READ_OPERATIONS, true ) ) {
			return self::problem( 'method-not-allowed', __( 'This operation needs POST.', 'keybridge' ), 405 );
		}

		$body = self::body( $request );
		if ( $body instanceof WP_REST_Response ) {
			return $body;
		}
		$refused = self::check_fields( $operation, $body );
		if ( null !== $refused ) {
			return $refused;
		}

		try {
			$answer = $site_operation ? Keybridge_Site_Operations::run( $operation, $body ) : self::run( $operation, $body );
			return self::answer( self::without_keks( $answer ), 200 );
		} catch ( Keybridge_Exception $e ) {
			$status = $e->http_status();
			if ( $status < 400 ) {
				$type   = $e->problem_type();
				$status = isset( self::CLIENT_STATUS[ $type ] ) ? self::CLIENT_STATUS[ $type ] : 500;
			}
			return self::problem( $e->problem_type(), $e->getMessage(), $status, (string) $e->field() );
		}
	}

	/**
	 * Calls the agent (key operations through Keybridge_Keys, which holds the KEKs).
	 *
	 * @param string $operation Operation id.
	 * @param array  $body      Checked request fields.
	 * @return array The answer.
	 * @throws Keybridge_Exception Any problem type.
	 */
	private static function run( $operation, array $body ) {
		$name  = isset( $body['name'] ) ? $body['name'] : '';
		$label = isset( $body['label'] ) ? $body['label'] : '';
		switch ( $operation ) {
			case 'status':
				return Keybridge_Status::for_this_site( Keybridge_Status::fetch() );
			case 'keys.list':
				return Keybridge_Keys::instance()->listed( $body );
			case 'keys.set':
				return Keybridge_Keys::instance()->store( $name, self::value( $body ), $label );
			case 'keys.generate':
				return Keybridge_Keys::instance()->generate( $name, $body['bits'], $label );
			case 'keys.rotate':
				return Keybridge_Keys::instance()->rotate( $name );
			case 'keys.delete':
				Keybridge_Keys::instance()->delete( $name );
				return array(
					'name'    => $name,
					'deleted' => true,
				);
			default:
				return Keybridge_Plugin::client()->call( $operation, $body );
		}
	}

	/**
	 * The value of a keys.set request: `value` (text) or `value_base64` (any bytes).
	 *
	 * @param array $body Request fields.
	 * @return string
	 * @throws Keybridge_Exception Type `invalid-value` without exactly one of them or for bad base64.
	 */
	private static function value( array $body ) {
		if ( isset( $body['value'] ) === isset( $body['value_base64'] ) ) {
			throw new Keybridge_Exception( 'invalid-value', __( 'Give the value as either value or value_base64.', 'keybridge' ), 422, 'value' );
		}
		if ( isset( $body['value'] ) ) {
			return $body['value'];
		}
		// phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode -- the API's encoding for bytes.
		$bytes = base64_decode( $body['value_base64'], true );
		if ( false === $bytes ) {
			throw new Keybridge_Exception( 'invalid-value', __( 'value_base64 is not valid base64.', 'keybridge' ), 422, 'value_base64' );
		}
		return $bytes;
	}

	/**
	 * The JSON object in the body (an empty body is an empty object).
	 *
	 * @param WP_REST_Request $request The request.
	 * @return array|WP_REST_Response The fields, or a problem.
	 */
	private static function body( WP_REST_Request $request ) {
		$raw = trim( (string) $request->get_body() );
		if ( '' === $raw ) {
			return array();
		}
		$body = json_decode( $raw, true );
		if ( ! is_array( $body ) || ( array() !== $body && array_keys( $body ) === range( 0, count( $body ) - 1 ) ) ) {
			return self::problem( 'bad-request', __( 'The request body must be a JSON object.', 'keybridge' ), 400 );
		}
		return $body;
	}

	/**
	 * Refuses fields the operation's request shape does not declare, KEKs from the browser,
	 * missing required fields and fields of the wrong JSON type.
	 *
	 * @param string $operation Operation id.
	 * @param array  $body      Request fields.
	 * @return WP_REST_Response|null A problem, or null when the body is acceptable.
	 */
	private static function check_fields( $operation, array $body ) {
		$shape      = self::request_shape( $operation );
		$properties = $shape['properties'];
		foreach ( $body as $field => $value ) {
			$field = (string) $field;
			if ( 'wrapping_key' === $field ) {
				return self::problem( 'invalid-field', __( 'The admin screen may not send a wrapping key: this site keeps its own.', 'keybridge' ), 400, $field );
			}
			if ( ! isset( $properties[ $field ] ) ) {
				return self::problem( 'invalid-field', __( 'This operation has no such field.', 'keybridge' ), 400, $field );
			}
			$type = self::field_type( $properties[ $field ] );
			if ( ! self::has_type( $value, $type ) ) {
				/* translators: %s: a JSON type such as string or integer. */
				$message = sprintf( __( 'This field must be a JSON %s.', 'keybridge' ), $type );
				return self::problem( 'invalid-field', $message, 400, $field );
			}
		}
		foreach ( $shape['required'] as $field ) {
			if ( 'wrapping_key' !== $field && ! array_key_exists( $field, $body ) ) {
				return self::problem( 'invalid-field', __( 'This field is required.', 'keybridge' ), 400, $field );
			}
		}
		return null;
	}

	/**
	 * The request shape of an operation in spec.yaml: field => array( 'type' => JSON type ),
	 * and the required fields.
	 *
	 * @param string $operation Operation id.
	 * @return array With `properties` and `required` (both possibly empty).
	 */
	private static function request_shape( $operation ) {
		if ( isset( Keybridge_Site_Operations::OPERATIONS[ $operation ] ) ) {
			$shape = Keybridge_Site_Operations::OPERATIONS[ $operation ];
		} else {
			$operation = Keybridge_Spec::OPERATIONS[ $operation ];
			$shape     = isset( $operation['request'] ) && is_array( $operation['request'] ) ? $operation['request'] : array();
		}
		return array(
			'properties' => isset( $shape['properties'] ) ? $shape['properties'] : array(),
			'required'   => isset( $shape['required'] ) ? $shape['required'] : array(),
		);
	}

	/**
	 * The JSON type of a field.
	 *
	 * @param mixed $property The spec's property: array( 'type' => … ).
	 * @return string Empty when the spec gives no type.
	 */
	private static function field_type( $property ) {
		return is_array( $property ) && isset( $property['type'] ) ? (string) $property['type'] : '';
	}

	/**
	 * Whether a decoded JSON value has the spec's JSON type.
	 *
	 * @param mixed  $value Decoded value.
	 * @param string $type  JSON Schema type; empty accepts anything.
	 * @return bool
	 */
	private static function has_type( $value, $type ) {
		switch ( $type ) {
			case 'string':
				return is_string( $value );
			case 'integer':
				return is_int( $value );
			case 'boolean':
				return is_bool( $value );
			case 'object':
				return is_array( $value );
			case 'array':
				return is_array( $value ) && ( array() === $value || array_keys( $value ) === range( 0, count( $value ) - 1 ) );
			default:
				return true;
		}
	}

	/**
	 * An answer without any `wrapping_key` (also inside lists of written keys).
	 *
	 * @param array $answer The agent's answer.
	 * @return array
	 */
	private static function without_keks( array $answer ) {
		unset( $answer['wrapping_key'] );
		foreach ( $answer as $field => $item ) {
			if ( is_array( $item ) ) {
				$answer[ $field ] = self::without_keks( $item );
			}
		}
		return $answer;
	}

	/**
	 * Filters WordPress's no-cache headers so that they forbid storing the answer too.
	 *
	 * @param array $headers Header name => value.
	 * @return array
	 */
	public static function no_store( $headers ) {
		$headers['Cache-Control'] = 'no-store, no-cache, must-revalidate, max-age=0';
		return $headers;
	}

	/**
	 * A JSON answer that no cache keeps.
	 *
	 * @param array $data   Body.
	 * @param int   $status HTTP status.
	 * @return WP_REST_Response
	 */
	private static function answer( array $data, $status ) {
		$response = new WP_REST_Response( $data, $status );
		$response->header( 'Cache-Control', 'no-store' );
		return $response;
	}

	/**
	 * An application/problem+json answer.
	 *
	 * @param string $type   Problem type.
	 * @param string $title  What went wrong (never a value, a KEK or the token).
	 * @param int    $status HTTP status.
	 * @param string $field  The request field at fault, if any.
	 * @return WP_REST_Response
	 */
	private static function problem( $type, $title, $status, $field = '' ) {
		$problem = array(
			'type'   => $type,
			'title'  => $title,
			'status' => $status,
		);
		if ( '' !== $field ) {
			$problem['field'] = $field;
		}
		$response = self::answer( $problem, $status );
		$response->header( 'Content-Type', 'application/problem+json; charset=' . get_option( 'blog_charset' ) );
		return $response;
	}
}
