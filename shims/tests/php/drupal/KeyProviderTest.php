<?php
/**
 * The keybridge Key provider in the booted Drupal.
 *
 * @package Keybridge
 */

use Drupal\key\Entity\Key;
use Drupal\key\Exception\KeyValueNotSetException;
use Drupal\keybridge\Plugin\KeyProvider\KeybridgeKeyProvider;
use PHPUnit\Framework\TestCase;

/**
 * Key's own API through the provider: values byte for byte, the KEK kept across sets, a
 * wrong KEK and an absent agent answered with no value (and no exception) on reads, and a
 * failed write that leaves the entity unsaved.
 */
final class KeyProviderTest extends TestCase {

	/**
	 * A fresh Key id per test.
	 *
	 * @return string
	 */
	private function id(): string {
		return 'phpunit_' . bin2hex( random_bytes( 4 ) );
	}

	/**
	 * A new Key entity with the keybridge provider.
	 *
	 * @param string $id The id.
	 * @return Key
	 */
	private function key( string $id ): Key {
		return Key::create(
			array(
				'id'           => $id,
				'label'        => $id,
				'key_type'     => 'authentication',
				'key_provider' => 'keybridge',
				'key_input'    => 'text_field',
			)
		);
	}

	/**
	 * The site is registered before any value is stored.
	 */
	public static function setUpBeforeClass(): void {
		$client = \Drupal::service( 'keybridge.agent' )->client();
		if ( empty( $client->status()['registered'] ) ) {
			$client->register( array( 'email' => 'phpunit@example.com' ) );
		}
	}

	public function test_values_round_trip_byte_for_byte_through_key_repository() {
		$id    = $this->id();
		$bytes = "\x00\xff binary \x80\n";
		$key   = $this->key( $id );
		$key->setKeyValue( $bytes );
		$key->save();
		\Drupal::entityTypeManager()->getStorage( 'key' )->resetCache();
		$this->assertSame( $bytes, \Drupal::service( 'key.repository' )->getKey( $id )->getKeyValue( true ) );
		$kek = \Drupal::config( 'key.key.' . $id )->get( 'key_provider_settings.wrapping_key' );
		$this->assertMatchesRegularExpression( '/^kb1\$[A-Za-z0-9_-]{43}$/', $kek );

		$again = Key::load( $id );
		$again->setKeyValue( 'second' );
		$again->save();
		$this->assertSame( $kek, \Drupal::config( 'key.key.' . $id )->get( 'key_provider_settings.wrapping_key' ), 'a new value keeps the KEK' );
		$this->assertSame( 'second', Key::load( $id )->getKeyValue( true ) );
	}

	public function test_a_wrong_kek_reads_as_no_value_and_logs_without_it() {
		$id  = $this->id();
		$key = $this->key( $id );
		$key->setKeyValue( 'value under the right kek' );
		$key->save();
		$provider = Key::load( $id )->getKeyProvider();
		$this->assertInstanceOf( KeybridgeKeyProvider::class, $provider );
		$provider->setWrappingKey( 'kb1$' . rtrim( strtr( base64_encode( random_bytes( 32 ) ), '+/', '-_' ), '=' ) );
		$this->assertNull( $provider->getKeyValue( Key::load( $id ) ) );
		$logged = \Drupal::database()->select( 'watchdog', 'w' )->fields( 'w', array( 'message', 'variables' ) )->condition( 'type', 'keybridge' )->orderBy( 'wid', 'DESC' )->range( 0, 1 )->execute()->fetchAssoc();
		$this->assertStringContainsString( 'kek-mismatch', (string) $logged['variables'] );
		$this->assertStringNotContainsString( 'value under the right kek', (string) $logged['variables'] );
	}

	public function test_with_the_agent_down_reads_give_no_value_and_a_write_saves_nothing() {
		$id  = $this->id();
		$key = $this->key( $id );
		$key->setKeyValue( 'before the outage' );
		$key->save();
		\Drupal::service( 'keybridge.vault' );
		keybridge_drupal_agent( 'stop' );
		try {
			\Drupal\keybridge\Common\CiphertextCache::reset_request_cache();
			if ( function_exists( 'apcu_clear_cache' ) ) {
				apcu_clear_cache();
			}
			$this->assertNull( Key::load( $id )->getKeyValue( true ) );
			$new = $this->key( $id . '_new' );
			$new->setKeyValue( 'during the outage' );
			try {
				$new->save();
				$this->fail( 'saving without an agent must fail' );
			} catch ( KeyValueNotSetException $e ) {
				$this->assertStringContainsString( 'agent-unreachable', $e->getMessage() );
				$this->assertStringNotContainsString( 'during the outage', $e->getMessage() );
			}
			\Drupal::entityTypeManager()->getStorage( 'key' )->resetCache();
			$this->assertNull( Key::load( $id . '_new' ), 'nothing half saved' );
		} finally {
			keybridge_drupal_agent( 'start' );
		}
		$this->assertSame( 'before the outage', Key::load( $id )->getKeyValue( true ) );
	}

	public function test_the_plugin_is_discovered_with_the_annotation_and_carries_the_attribute() {
		$definition = \Drupal::service( 'plugin.manager.key.key_provider' )->getDefinition( 'keybridge' );
		$this->assertSame( KeybridgeKeyProvider::class, $definition['class'] );
		$attributes = ( new ReflectionClass( KeybridgeKeyProvider::class ) )->getAttributes( 'Drupal\key\Attribute\KeyProvider' );
		$this->assertCount( 1, $attributes );
		$this->assertSame( 'keybridge', $attributes[0]->getArguments()['id'] );
		$this->assertSame( array( 'accepted' => true, 'required' => false ), $attributes[0]->getArguments()['key_value'] );
	}
}
