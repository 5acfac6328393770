<?php
/**
 * What the settings page's route accepts, checked against the spec.
 *
 * @package Keybridge
 */

use Drupal\keybridge\AdminRequest;
use Drupal\keybridge\Common\KeybridgeException;
use Drupal\keybridge\Common\Spec;
use PHPUnit\Framework\TestCase;

/**
 * Every admin operation of the spec: its declared fields pass, anything else is refused with
 * the field named, and a KEK never passes in or out.
 */
final class AdminRequestTest extends TestCase {

	/**
	 * The refusal a body gets, or null.
	 *
	 * @param string $operation Operation id.
	 * @param array  $body      Fields.
	 * @return KeybridgeException|null
	 */
	private function refusal( string $operation, array $body ) {
		try {
			AdminRequest::checkFields( $operation, $body );
			return null;
		} catch ( KeybridgeException $e ) {
			return $e;
		}
	}

	public function test_every_admin_operation_accepts_its_required_fields_and_refuses_others() {
		$samples = array(
			'string'  => 'x',
			'integer' => 256,
			'boolean' => true,
			'array'   => array(),
			'object'  => array(),
		);
		foreach ( Spec::ADMIN_OPERATIONS as $operation ) {
			$shape = Spec::OPERATIONS[ $operation ]['request'];
			$body  = array();
			foreach ( $shape['required'] as $field ) {
				if ( 'wrapping_key' !== $field ) {
					$body[ $field ] = $samples[ $shape['properties'][ $field ]['type'] ?? 'string' ];
				}
			}
			$this->assertNull( $this->refusal( $operation, $body ), $operation );
			$unknown = $this->refusal( $operation, $body + array( 'unknown_field' => 'x' ) );
			$this->assertSame( array( 'invalid-field', 'unknown_field' ), array( $unknown->problem_type(), $unknown->field() ), $operation );
			$kek = $this->refusal( $operation, $body + array( 'wrapping_key' => 'kb1$x' ) );
			$this->assertSame( 'wrapping_key', $kek->field(), $operation );
		}
	}

	public function test_bodies_values_and_answers() {
		$this->assertSame( array(), AdminRequest::body( '' ) );
		$this->assertSame( 'bad-request', $this->problem( fn () => AdminRequest::body( '[1]' ) ) );
		$this->assertSame( 'bad-request', $this->problem( fn () => AdminRequest::body( 'not json' ) ) );
		$this->assertSame( "\x00\xff", AdminRequest::value( array( 'value_base64' => base64_encode( "\x00\xff" ) ) ) );
		$this->assertSame( 'invalid-value', $this->problem( fn () => AdminRequest::value( array( 'value' => 'a', 'value_base64' => 'YQ==' ) ) ) );
		$this->assertSame( 'invalid-value', $this->problem( fn () => AdminRequest::value( array( 'value_base64' => '***' ) ) ) );
		$this->assertSame(
			array( 'keys' => array( array( 'name' => 'a' ) ) ),
			AdminRequest::withoutKeks( array( 'keys' => array( array( 'name' => 'a', 'wrapping_key' => 'kb1$x' ) ) ) )
		);
	}

	/**
	 * The problem type $fn throws.
	 *
	 * @param callable $fn What should fail.
	 * @return string
	 */
	private function problem( callable $fn ): string {
		try {
			$fn();
		} catch ( KeybridgeException $e ) {
			return $e->problem_type();
		}
		return 'none';
	}
}
