<?php
/**
 * Keybridge_Names against the vectors the agent is tested with.
 *
 * @package Keybridge
 */

use Yoast\PHPUnitPolyfills\TestCases\TestCase;

/**
 * sidecar/src/agent/keys/names.vectors.json: every name gets the same verdict in PHP as in the
 * agent (names.test.ts), under the rules for stored names and for names being written, with
 * the same NFC form and UTS #39 skeleton; look-alike pairs share a skeleton.
 */
final class NameVectorsTest extends TestCase {

	/**
	 * The shared vectors file, decoded.
	 *
	 * @return array
	 */
	private static function vectors_file(): array {
		return json_decode( (string) file_get_contents( KEYBRIDGE_REPO_ROOT . '/sidecar/src/agent/keys/names.vectors.json' ), true );
	}

	/**
	 * NFC and the skeleton need intl, as they do in a site that checks names itself.
	 */
	protected function set_up() {
		parent::set_up();
		if ( ! class_exists( 'Normalizer' ) ) {
			$this->markTestSkipped( 'the PHP intl extension is missing (apt-get install php-intl)' );
		}
	}

	/**
	 * One data set per name.
	 *
	 * @return array[]
	 */
	public function names(): array {
		$sets = array();
		foreach ( self::vectors_file()['names'] as $vector ) {
			$sets[ $vector['why'] ] = array( $vector );
		}
		return $sets;
	}

	/**
	 * The same rule broken (or none), the same NFC name and skeleton.
	 *
	 * @dataProvider names
	 * @param array $v One vector.
	 */
	public function test_gives_the_agents_verdict( array $v ) {
		$existing = Keybridge_Names::existing_name_problem( $v['name'] );
		$this->assertSame( $v['existing'], null === $existing ? 'ok' : $existing['rule'] );
		$new = Keybridge_Names::new_name_problem( $v['name'] );
		$this->assertSame( $v['new'], null === $new ? 'ok' : $new['rule'] );
		if ( 'ok' === $v['new'] ) {
			$this->assertSame( $v['normalised'], Keybridge_Names::check_new( $v['name'] ) );
			$this->assertSame( $v['skeleton'], Keybridge_Names::skeleton( $v['normalised'] ) );
		} else {
			try {
				Keybridge_Names::check_new( $v['name'], 'items[0].name' );
				$this->fail( 'check_new accepted a refused name' );
			} catch ( Keybridge_Exception $e ) {
				$this->assertSame( 'invalid-name', $e->problem_type() );
				$this->assertSame( 'items[0].name', $e->field() );
			}
		}
	}

	/**
	 * Look-alike pairs share a skeleton; distinct pairs do not.
	 */
	public function test_look_alikes_share_a_skeleton() {
		$vectors = self::vectors_file();
		foreach ( $vectors['confusable'] as $pair ) {
			$this->assertSame( Keybridge_Names::skeleton( Keybridge_Names::check_new( $pair[0] ) ), Keybridge_Names::skeleton( Keybridge_Names::check_new( $pair[1] ) ), $pair[1] );
		}
		foreach ( $vectors['distinct'] as $pair ) {
			$this->assertNotSame( Keybridge_Names::skeleton( Keybridge_Names::check_new( $pair[0] ) ), Keybridge_Names::skeleton( Keybridge_Names::check_new( $pair[1] ) ), $pair[1] );
		}
	}

	/**
	 * Labels: free text, but no bidi controls or control characters.
	 */
	public function test_labels_refuse_bidi_controls() {
		$this->assertSame( 'Stripe — live key (מפתח)', Keybridge_Names::check_label( 'Stripe — live key (מפתח)' ) );
		foreach ( array( "evil\u{202e}txt", "a\u{2066}b\u{2069}", "a\u{200f}b", "a\u{061c}b", "line\nbreak", "bad \xff byte" ) as $label ) {
			try {
				Keybridge_Names::check_label( $label );
				$this->fail( 'accepted ' . bin2hex( $label ) );
			} catch ( Keybridge_Exception $e ) {
				$this->assertSame( 'invalid-field', $e->problem_type() );
			}
		}
	}
}
