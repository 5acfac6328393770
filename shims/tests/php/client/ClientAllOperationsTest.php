<?php
/**
 * Every operation in spec.yaml, through its generated method, on a real agent.
 *
 * @package Keybridge
 */

use Yoast\PHPUnitPolyfills\TestCases\TestCase;

/**
 * Walks Keybridge_Spec::OPERATIONS in order (the revoke comes last, as in the spec) and
 * calls each through the Keybridge_Client method the generator made for it.
 */
final class ClientAllOperationsTest extends TestCase {

	const PASSPHRASE = 'correct horse battery staple';

	/**
	 * A registered agent.
	 *
	 * @var Keybridge_Test_Agent
	 */
	private static $agent;

	/**
	 * An agent started with --no-register (for register).
	 *
	 * @var Keybridge_Test_Agent
	 */
	private static $unregistered;

	public static function set_up_before_class() {
		parent::set_up_before_class();
		self::$agent        = Keybridge_Test_Agent::start( 'unix' );
		self::$unregistered = Keybridge_Test_Agent::start( 'unix', array( '--no-register' ) );
	}

	public static function tear_down_after_class() {
		self::$agent->stop();
		self::$unregistered->stop();
		parent::tear_down_after_class();
	}

	/**
	 * A Lockr `$2$` item as Lockr's GraphQL API returned it (test-helpers/lockr-item.ts in PHP).
	 *
	 * @param string $name  Key name.
	 * @param string $value The value.
	 * @return array name, ciphertext, encoded.
	 */
	private static function lockr_item( string $name, string $value ): array {
		$key    = random_bytes( 32 );
		$digest = hash( 'sha512', $key, true );
		$iv     = random_bytes( 16 );
		$ct     = openssl_encrypt( $value, 'aes-256-cbc', substr( $digest, 0, 32 ), OPENSSL_RAW_DATA, $iv );
		$mac    = hash_hmac( 'sha256', '$2$aes-256-cbc' . $iv . $ct, substr( $digest, 32 ), true );
		return array(
			'name'       => $name,
			'ciphertext' => base64_encode( $iv . $ct . $mac ),
			'encoded'    => '$2$' . base64_encode( $key ),
		);
	}

	/**
	 * The value of a key through keys.get.
	 *
	 * @param Keybridge_Client $client Client.
	 * @param string           $name   Name.
	 * @param string           $kek    KEK.
	 * @return string The value.
	 */
	private static function value( Keybridge_Client $client, string $name, string $kek ): string {
		$got = $client->keys_get(
			array(
				'name'         => $name,
				'wrapping_key' => $kek,
			)
		);
		return base64_decode( $got['value_base64'], true );
	}

	public function test_every_spec_operation_is_reachable_through_its_method() {
		$client = self::$agent->client();
		$keks   = array();
		$bundle = null;
		$seen   = array();
		foreach ( Keybridge_Spec::OPERATIONS as $id => $operation ) {
			$method = $operation['php_method'];
			$this->assertTrue( method_exists( $client, $method ), 'Keybridge_Client::' . $method . '() for ' . $id );
			$seen[] = $id;
			switch ( $id ) {
				case 'health':
					$this->assertSame( 'ok', $client->health()['status'] );
					break;
				case 'status':
					$status = $client->status();
					$this->assertSame( array_keys( Keybridge_Spec::STATUS_ROWS ), array_column( $status['rows'], 'id' ) );
					$this->assertTrue( $status['registered'] );
					break;
				case 'keys.list':
					$this->assertSame( array(), $client->keys_list()['keys'] );
					break;
				case 'keys.set':
					$keks['ops/set'] = $client->keys_set(
						array(
							'name'  => 'ops/set',
							'value' => 's3cret value',
						)
					)['wrapping_key'];
					break;
				case 'keys.generate':
					$written          = $client->keys_generate(
						array(
							'name'  => 'ops/generated',
							'bits'  => 256,
							'label' => 'encryption key',
						)
					);
					$keks['ops/generated'] = $written['wrapping_key'];
					$this->assertSame( 32, strlen( self::value( $client, 'ops/generated', $written['wrapping_key'] ) ) );
					break;
				case 'keys.get':
					$this->assertSame( 's3cret value', self::value( $client, 'ops/set', $keks['ops/set'] ) );
					break;
				case 'keys.fetch':
					$fetched = $client->keys_fetch( array( 'names' => array( 'ops/set', 'ops/missing' ) ) );
					$this->assertSame( array( true, false ), array_column( $fetched['keys'], 'found' ) );
					break;
				case 'usage.report':
					$recorded = $client->usage_report(
						array(
							'entries' => array(
								array(
									'name'         => 'ops/set',
									'caller'       => 'plugin:ops',
									'reads'        => 2,
									'denied'       => 0,
									'last_read_at' => '2026-01-01T00:00:00Z',
								),
							),
						)
					);
					$this->assertSame( array( 'recorded' => 1 ), $recorded );
					break;
				case 'keys.rotate':
					$rotated = $client->keys_rotate(
						array(
							'name'         => 'ops/generated',
							'wrapping_key' => $keks['ops/generated'],
						)
					);
					$this->assertNotSame( $keks['ops/generated'], $rotated['wrapping_key'] );
					break;
				case 'keys.delete':
					$this->assertTrue( $client->keys_delete( array( 'name' => 'ops/generated' ) )['deleted'] );
					break;
				case 'import.lockr':
					$imported = $client->import_lockr( array( 'items' => array( self::lockr_item( 'ops/lockr', 'from lockr' ) ) ) );
					$this->assertSame( 'from lockr', self::value( $client, 'ops/lockr', $imported['keys'][0]['wrapping_key'] ) );
					break;
				case 'export':
					$bundle = $client->export(
						array(
							'passphrase'    => self::PASSPHRASE,
							'wrapping_keys' => array( 'ops/set' => $keks['ops/set'] ),
						)
					);
					$this->assertSame( 'keybridge-export-1', $bundle['format'] );
					break;
				case 'import.bundle':
					$client->keys_delete( array( 'name' => 'ops/set' ) );
					$restored = $client->import_bundle(
						array(
							'bundle'        => $bundle,
							'passphrase'    => self::PASSPHRASE,
							'wrapping_keys' => array( 'ops/set' => $keks['ops/set'] ),
						)
					);
					$this->assertSame( $keks['ops/set'], $restored['keys'][0]['wrapping_key'] );
					$this->assertSame( 's3cret value', self::value( $client, 'ops/set', $keks['ops/set'] ) );
					break;
				case 'register':
					$certificate = self::$unregistered->client()->register(
						array(
							'email'     => 'php@example.com',
							'password'  => 'a long enough password',
							'site_name' => 'PHP client test',
						)
					);
					$this->assertSame( 'development', $certificate['environment'] );
					try {
						$client->register( array( 'email' => 'php@example.com' ) );
						$this->fail( 'registered twice' );
					} catch ( Keybridge_Exception $e ) {
						$this->assertSame( 'already-registered', $e->problem_type() );
						$this->assertSame( 409, $e->http_status() );
					}
					break;
				case 'certificates.create':
					$certificate = $client->certificates_create(
						array(
							'country'      => 'NL',
							'state'        => 'Noord-Holland',
							'locality'     => 'Amsterdam',
							'organization' => 'Example BV',
						)
					);
					$this->assertSame( 'development', $certificate['environment'] );
					break;
				case 'certificates.renew':
					$this->assertSame( 'development', $client->certificates_renew()['environment'] );
					break;
				case 'production':
					$answer = $client->production();
					$this->assertContains( $answer['status'], array( 'issued', 'pending' ) );
					break;
				case 'certificates.revoke':
					$this->assertTrue( $client->certificates_revoke()['revoked'] );
					break;
				default:
					$this->fail( 'no test step for operation ' . $id . ': add one here' );
			}
		}
		$this->assertSame( array_keys( Keybridge_Spec::OPERATIONS ), $seen );
	}
}
