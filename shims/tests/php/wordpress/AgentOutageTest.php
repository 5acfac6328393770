<?php
/**
 * The agent goes away under a running site.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress -- tests.

use PHPUnit\Framework\TestCase;

/**
 * One stop of the fixture's agent (fixtures/wordpress/agent.sh), several checks while it is
 * down, and a start again in a finally: warm reads need no agent, cold ones fail softly and
 * log without the value, the status turns red, no fatal.
 */
final class AgentOutageTest extends TestCase {

	public function test_while_the_agent_is_down(): void {
		$warm       = Keybridge_WP_Fixture::unique( 'outage/warm' );
		$cold       = Keybridge_WP_Fixture::unique( 'outage/cold' );
		$prefetched = array( Keybridge_WP_Fixture::unique( 'outage/batch-1' ), Keybridge_WP_Fixture::unique( 'outage/batch-2' ) );
		$secret     = 'cold-secret-' . bin2hex( random_bytes( 8 ) );
		$string     = str_replace( '-', '_', Keybridge_WP_Fixture::unique( 'outage_smtp_password' ) );
		$array      = str_replace( '-', '_', Keybridge_WP_Fixture::unique( 'outage_smtp_settings' ) );
		$this->assertTrue( keybridge_set_key( $warm, 'warm value' ) );
		$this->assertTrue( keybridge_set_key( $cold, $secret ) );
		foreach ( $prefetched as $name ) {
			$this->assertTrue( keybridge_set_key( $name, "value of $name" ) );
		}
		add_option( $string, 'smtp secret' );
		add_option( $array, array( 'password' => 'smtp secret' ) );
		$this->assertTrue( keybridge_protect_option( $string ) );
		$this->assertTrue( keybridge_protect_option( $array ) );

		// This request's reads: one read, one batch fetch; the rest stays cold.
		Keybridge_Ciphertext_Cache::reset_request_cache();
		$this->assertSame( 'warm value', keybridge_get_key( $warm ) );
		$this->assertTrue( keybridge_prefetch_keys( $prefetched ) );

		$log          = tempnam( sys_get_temp_dir(), 'keybridge-log' );
		$previous_log = ini_set( 'error_log', $log );
		Keybridge_WP_Fixture::agent( 'stop' );
		try {
			// Warm: served from the ciphertext cache and opened in PHP, no agent involved.
			$this->assertSame( 'warm value', keybridge_get_key( $warm ) );
			foreach ( $prefetched as $name ) {
				$this->assertSame( "value of $name", keybridge_get_key( $name ) );
			}

			// Cold: null, and one log line with the problem type and the name, never the value.
			$this->assertNull( keybridge_get_key( $cold ) );
			$logged = (string) file_get_contents( $log );
			$this->assertStringContainsString( 'agent-unreachable', $logged );
			$this->assertStringContainsString( $cold, $logged );
			$this->assertStringNotContainsString( $secret, $logged );
			$this->assertStringNotContainsString( (string) Keybridge_Keks::get( $cold ), $logged, 'nor the KEK' );

			// Protected options read as never saved; a save is refused and writes no secret.
			wp_cache_flush();
			$this->assertFalse( get_option( $string ) );
			$this->assertSame( array(), get_option( $array ) );
			$this->assertFalse( update_option( $string, 'new smtp secret' ) );
			global $wpdb;
			$row = $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", $string ) );
			$this->assertTrue( Keybridge_Protected_Options::is_reference( $row ) );

			// The status table of the same shape, with a red agent row.
			Keybridge_Status::forget();
			$status = Keybridge_Status::fetch();
			$this->assertSame( array_keys( Keybridge_Spec::STATUS_ROWS ), array_column( $status['rows'], 'id' ) );
			$this->assertSame( 'error', $status['rows'][0]['severity'] );
			$this->assertStringContainsString( 'keybridge agent unreachable at ' . Keybridge_WP_Fixture::env( 'KEYBRIDGE_AGENT' ), $status['rows'][0]['value'] );
			$this->assertNotSame( '', $status['rows'][0]['help'] );
			foreach ( array_slice( $status['rows'], 1 ) as $row ) {
				$this->assertSame( 'warning', $row['severity'], $row['id'] );
			}
			$this->assertSame( 'critical', Keybridge_Site_Health::run( 'agent' )['status'] );
			$this->assertSame( 'recommended', Keybridge_Site_Health::run( 'site-registered' )['status'] );

			// wp keybridge status: the table, then exit 1 with the reason.
			list( $exit, $out, $err ) = Keybridge_WP_Fixture::wp( array( 'keybridge', 'status' ) );
			$this->assertSame( 1, $exit );
			$this->assertStringContainsString( 'Agent reachable and version', $out );
			$this->assertStringContainsString( 'keybridge agent unreachable at', $err );
		} finally {
			Keybridge_WP_Fixture::agent( 'start' );
			ini_set( 'error_log', (string) $previous_log );
			unlink( $log );
			Keybridge_Status::forget();
		}

		// Back: everything reads again.
		$this->assertSame( $secret, keybridge_get_key( $cold ) );
		wp_cache_flush();
		$this->assertSame( 'smtp secret', get_option( $string ) );
		$this->assertSame( array( 'password' => 'smtp secret' ), get_option( $array ) );
		$this->assertSame( 'ok', Keybridge_Status::fetch()['rows'][0]['severity'] );

		foreach ( array( $string, $array ) as $option ) {
			keybridge_unprotect_option( $option );
			delete_option( $option );
		}
		foreach ( array_merge( array( $warm, $cold ), $prefetched ) as $name ) {
			keybridge_delete_key( $name );
		}
	}
}
