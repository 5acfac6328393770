<?php
/**
 * A `php -S` router that answers like a broken agent, one misbehaviour per path
 * (ClientFailureTest maps each to an operation of the same path).
 *
 * @package Keybridge
 */

$keybridge_path = parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
switch ( $keybridge_path ) {
	case '/v1/health': // 200 with HTML.
		header( 'Content-Type: text/html' );
		echo '<html>hello</html>';
		break;
	case '/v1/status': // 200 with a JSON list, not an object.
		header( 'Content-Type: application/json' );
		echo '[1,2,3]';
		break;
	case '/v1/keys': // 500 with HTML.
		http_response_code( 500 );
		header( 'Content-Type: text/html' );
		echo 'Internal Server Error';
		break;
	case '/v1/keys/set': // A problem document with a field.
		http_response_code( 422 );
		header( 'Content-Type: application/problem+json' );
		echo '{"type":"invalid-name","title":"The key name is invalid","status":422,"detail":"names are 1 to 200 characters","field":"name"}';
		break;
	case '/v1/production': // 202 pending: a normal answer.
		http_response_code( 202 );
		header( 'Content-Type: application/json' );
		echo '{"status":"pending"}';
		break;
	case '/v1/keys/get': // Echoes the request: body and headers as the agent received them.
		header( 'Content-Type: application/json' );
		echo json_encode(
			array(
				'body'          => file_get_contents( 'php://input' ),
				'authorization' => isset( $_SERVER['HTTP_AUTHORIZATION'] ) ? $_SERVER['HTTP_AUTHORIZATION'] : '',
				'content_type'  => isset( $_SERVER['CONTENT_TYPE'] ) ? $_SERVER['CONTENT_TYPE'] : '',
			)
		);
		break;
	case '/v1/keys/fetch': // Too slow for the client's timeout.
		sleep( 5 );
		echo '{}';
		break;
	default:
		http_response_code( 404 );
		echo '{}';
}
