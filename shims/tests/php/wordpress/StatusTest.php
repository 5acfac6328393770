<?php
/**
 * The status table, Site Health and the agent's token.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress -- tests.

use PHPUnit\Framework\TestCase;

/**
 * With the agent running and the site registered.
 */
final class StatusTest extends TestCase {

	protected function setUp(): void {
		Keybridge_Status::forget();
	}

	public function test_site_health_has_one_test_per_row_with_the_mapped_status(): void {
		$tests = apply_filters( 'site_status_tests', array( 'direct' => array(), 'async' => array() ) );
		$rows  = Keybridge_Status::fetch()['rows'];
		$this->assertSame( 'ok', $rows[0]['severity'] );
		$expected = array(
			'ok'      => 'good',
			'warning' => 'recommended',
			'error'   => 'critical',
		);
		foreach ( $rows as $row ) {
			$id = 'keybridge_' . str_replace( '-', '_', $row['id'] );
			$this->assertArrayHasKey( $id, $tests['direct'] );
			$result = call_user_func( $tests['direct'][ $id ]['test'] );
			$this->assertSame( $expected[ $row['severity'] ], $result['status'], $row['id'] );
			$this->assertSame( $id, $result['test'] );
			$this->assertStringContainsString( esc_html( $row['value'] ), $result['description'] );
		}
		// The embedded default runs a software root key: a warning, so "recommended".
		$this->assertSame( 'recommended', Keybridge_Site_Health::run( 'at-rest' )['status'] );
		$this->assertSame( 'good', Keybridge_Site_Health::run( 'site-registered' )['status'] );
	}

	public function test_site_health_info_section(): void {
		$info = apply_filters( 'debug_information', array() );
		$this->assertSame( 'Keybridge', $info['keybridge']['label'] );
		foreach ( array_keys( Keybridge_Spec::STATUS_ROWS ) as $id ) {
			$this->assertArrayHasKey( $id, $info['keybridge']['fields'] );
		}
		$this->assertArrayHasKey( 'protected-options', $info['keybridge']['fields'] );
	}

	/**
	 * A site whose wp-config.php lacks the constants (a child PHP process that defines
	 * KEYBRIDGE_AGENT as '' before wp-config.php runs): no fatal, null reads, a red agent row
	 * that says what to add.
	 */
	public function test_without_configuration(): void {
		$script = sprintf(
			'define( "KEYBRIDGE_AGENT", "" ); $_SERVER["HTTP_HOST"] = "localhost"; require %s;'
			. ' ini_set( "error_log", "/dev/null" );'
			. ' $status = Keybridge_Status::fetch();'
			. ' echo wp_json_encode( array( "get" => keybridge_get_key( "anything" ), "set" => keybridge_set_key( "anything", "x" ), "agent" => $status["rows"][0] ) );',
			var_export( Keybridge_WP_Fixture::env( 'WP_PATH' ) . '/wp-load.php', true )
		);
		exec( escapeshellarg( PHP_BINARY ) . ' -d display_errors=0 -d log_errors=0 -r ' . escapeshellarg( $script ), $output, $exit );
		$this->assertSame( 0, $exit, implode( "\n", $output ) );
		$result = json_decode( (string) end( $output ), true );
		$this->assertNull( $result['get'] );
		$this->assertFalse( $result['set'] );
		$this->assertSame( 'error', $result['agent']['severity'] );
		$this->assertStringContainsString( 'not-configured', $result['agent']['value'] );
		$this->assertStringContainsString( 'KEYBRIDGE_TOKEN_FILE', $result['agent']['help'] );
	}

	public function test_a_wrong_token_is_unauthorized_and_shown_as_such(): void {
		$file = tempnam( sys_get_temp_dir(), 'keybridge-token' );
		try {
			file_put_contents( $file, rtrim( strtr( base64_encode( random_bytes( 32 ) ), '+/', '-_' ), '=' ) );
			$client = new Keybridge_Client( Keybridge_WP_Fixture::env( 'KEYBRIDGE_AGENT' ), $file );
			$status = Keybridge_Status::fetch( $client );
			$this->assertSame( 'error', $status['rows'][0]['severity'] );
			$this->assertStringContainsString( 'refused the token', $status['rows'][0]['value'] );
			try {
				( new Keybridge_Keys( $client ) )->store( Keybridge_WP_Fixture::unique( 'wrong-token' ), 'x' );
				$this->fail( 'stored with a wrong token' );
			} catch ( Keybridge_Exception $e ) {
				$this->assertSame( 'unauthorized', $e->problem_type() );
				$this->assertSame( 401, $e->http_status() );
			}

			unlink( $file );
			$missing = Keybridge_Status::fetch( new Keybridge_Client( Keybridge_WP_Fixture::env( 'KEYBRIDGE_AGENT' ), $file ) );
			$this->assertSame( 'error', $missing['rows'][0]['severity'] );
			$this->assertStringContainsString( 'token-file-unreadable', $missing['rows'][0]['value'] );
		} finally {
			if ( file_exists( $file ) ) {
				unlink( $file );
			}
		}
	}
}
