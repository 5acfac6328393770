<?php
/**
 * Keys through the public functions and Keybridge_Keys, inside the real WordPress.
 *
 * @package Keybridge
 */

// phpcs:disable WordPress -- tests.

use PHPUnit\Framework\TestCase;

/**
 * Round trips, names WordPress would mangle, the one autoloaded KEK option.
 */
final class KeysTest extends TestCase {

	/**
	 * Names that sanitize_key() would change (it lowercases and keeps only a-z0-9_-), all valid
	 * for the agent (letters of any script, digits and _ . : @ - /).
	 */
	public function mangled_names(): array {
		return array(
			'slashes'   => array( 'mangle/with/slashes' ),
			'upper'     => array( 'Mangle.UPPER.Case' ),
			'colon+at'  => array( 'mangle:user@example.com' ),
			'unicode'   => array( 'mangle/ключ/Ünïcödé/鍵' ),
			'wp-option' => array( 'wp-option:smtp_password' ),
		);
	}

	/**
	 * @dataProvider mangled_names
	 */
	public function test_names_are_passed_as_given( string $name ): void {
		$name  = Keybridge_WP_Fixture::unique( $name );
		$value = 'value of ' . $name;
		$this->assertTrue( keybridge_set_key( $name, $value ) );
		$this->assertArrayHasKey( $name, Keybridge_Keks::all() );
		Keybridge_Ciphertext_Cache::reset_request_cache();
		$this->assertSame( $value, keybridge_get_key( $name ) );
		$listed = array_column( Keybridge_Plugin::client()->keys_list( array( 'limit' => 1000 ) )['keys'], 'name' );
		$this->assertContains( $name, $listed, 'the agent stored the name unchanged' );
		$this->assertTrue( keybridge_delete_key( $name ) );
		$this->assertNull( keybridge_get_key( $name ) );
	}

	/**
	 * Names WordPress would mangle and the agent refuses (quotes, backslashes, markup, spaces,
	 * dot segments): a clear invalid-name, never a silently changed name; no KEK is kept.
	 */
	public function test_names_the_agent_refuses_are_not_mangled_into_others(): void {
		foreach ( array( "it's", 'say-"hi"', 'back\\slash', '<b>bold</b>', 'has space', '../escape', 'a//b', "tab\there", 'emoji-🔑' ) as $name ) {
			try {
				Keybridge_Keys::instance()->store( $name, 'x' );
				$this->fail( "stored under '$name'" );
			} catch ( Keybridge_Exception $e ) {
				$this->assertSame( 'invalid-name', $e->problem_type(), $name );
			}
			$this->assertArrayNotHasKey( $name, Keybridge_Keks::all() );
			$this->assertFalse( keybridge_set_key( $name, 'x' ) );
			$this->assertNull( keybridge_get_key( $name ) );
		}
	}

	public function test_round_trip_of_64_kib_and_of_bytes_that_are_not_utf8(): void {
		$values = array(
			'max'    => random_bytes( 65536 ),
			'binary' => "\xff\xfe\x00\x80 not \xc3\x28 UTF-8 \x00",
			'empty'  => '',
			'text'   => "multi\nline\r\nwith trailing newline\n",
		);
		foreach ( $values as $label => $value ) {
			$name = Keybridge_WP_Fixture::unique( "round-trip/$label" );
			$this->assertTrue( keybridge_set_key( $name, $value, "label $label" ), $label );
			Keybridge_Ciphertext_Cache::reset_request_cache();
			$this->assertSame( $value, keybridge_get_key( $name ), "cold read of $label" );
			$this->assertSame( $value, keybridge_get_key( $name ), "warm read of $label" );
			$this->assertTrue( keybridge_delete_key( $name ) );
		}
	}

	public function test_too_large_and_non_string_values_are_refused(): void {
		$name = Keybridge_WP_Fixture::unique( 'too-large' );
		try {
			Keybridge_Keys::instance()->store( $name, str_repeat( 'x', 65537 ) );
			$this->fail( 'stored 65537 bytes' );
		} catch ( Keybridge_Exception $e ) {
			$this->assertSame( 'invalid-value', $e->problem_type() );
		}
		$this->assertFalse( keybridge_set_key( $name, array( 'not', 'a', 'string' ) ) );
		$this->assertNull( Keybridge_Keks::get( $name ) );
	}

	public function test_one_autoloaded_option_holds_every_kek_and_writes_keep_the_others(): void {
		global $wpdb;
		$first  = Keybridge_WP_Fixture::unique( 'kek/first' );
		$second = Keybridge_WP_Fixture::unique( 'kek/second' );
		$this->assertTrue( keybridge_set_key( $first, 'one' ) );
		$this->assertTrue( keybridge_set_key( $second, 'two' ) );

		$row = $wpdb->get_row( $wpdb->prepare( "SELECT option_value, autoload FROM {$wpdb->options} WHERE option_name = %s", 'keybridge_keks' ) );
		$this->assertSame( 'yes', $row->autoload );
		$stored = maybe_unserialize( $row->option_value );
		$this->assertMatchesRegularExpression( '/^kb1\$[A-Za-z0-9_-]{43}$/', $stored[ $first ] );
		$this->assertMatchesRegularExpression( '/^kb1\$[A-Za-z0-9_-]{43}$/', $stored[ $second ] );
		$this->assertSame( 0, (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$wpdb->options} WHERE option_name LIKE 'keybridge\\_kek%' AND option_name <> 'keybridge_keks'" ), 'no other KEK rows' );

		// Re-setting keeps the KEK (so copies of this database keep working), deleting drops only its own.
		$kek = $stored[ $first ];
		$this->assertTrue( keybridge_set_key( $first, 'one, again' ) );
		$this->assertSame( $kek, Keybridge_Keks::get( $first ) );
		$this->assertTrue( keybridge_delete_key( $first ) );
		$after = maybe_unserialize( $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", 'keybridge_keks' ) ) );
		$this->assertArrayNotHasKey( $first, $after );
		$this->assertSame( $stored[ $second ], $after[ $second ] );
		$this->assertSame( 'two', keybridge_get_key( $second ) );
		keybridge_delete_key( $second );
	}

	/**
	 * Three PHP processes saving keys at the same time: every KEK survives (the option is
	 * written under a database lock, from the row as it is, not from a stale cache).
	 */
	public function test_concurrent_writers_keep_every_kek(): void {
		$prefix    = Keybridge_WP_Fixture::unique( 'concurrent' );
		$processes = array();
		foreach ( range( 1, 3 ) as $writer ) {
			$script      = sprintf(
				'$_SERVER["HTTP_HOST"] = "localhost"; require %s; ini_set( "error_log", "/dev/null" );'
				. ' for ( $i = 1; $i <= 5; $i++ ) { if ( ! keybridge_set_key( %s . "/$i", "value %d/$i" ) ) { exit( 1 ); } }',
				var_export( Keybridge_WP_Fixture::env( 'WP_PATH' ) . '/wp-load.php', true ),
				var_export( "$prefix/$writer", true ),
				$writer
			);
			$processes[] = proc_open( array( PHP_BINARY, '-d', 'display_errors=0', '-d', 'log_errors=0', '-r', $script ), array(), $pipes );
		}
		foreach ( $processes as $process ) {
			$this->assertSame( 0, proc_close( $process ) );
		}
		wp_cache_flush();
		Keybridge_Ciphertext_Cache::reset_request_cache();
		foreach ( range( 1, 3 ) as $writer ) {
			foreach ( range( 1, 5 ) as $i ) {
				$name = "$prefix/$writer/$i";
				$this->assertNotNull( Keybridge_Keks::get( $name ), $name );
				$this->assertSame( "value $writer/$i", keybridge_get_key( $name ) );
				keybridge_delete_key( $name );
			}
		}
	}

	/**
	 * When the KEK option cannot be written (another connection holds its lock past the
	 * timeout), nothing is lost: a rotation puts the value back under the old KEK, a new name
	 * leaves no unreadable value in the vault.
	 */
	public function test_a_failed_kek_write_loses_nothing(): void {
		global $wpdb;
		$known = Keybridge_WP_Fixture::unique( 'kek-write/known' );
		$new   = Keybridge_WP_Fixture::unique( 'kek-write/new' );
		$this->assertTrue( keybridge_set_key( $known, 'still readable' ) );
		$kek = Keybridge_Keks::get( $known );

		$other = mysqli_connect( 'localhost', DB_USER, DB_PASSWORD, DB_NAME, 0, Keybridge_WP_Fixture::env( 'MARIADB_SOCKET' ) );
		$this->assertSame( '1', mysqli_query( $other, "SELECT GET_LOCK( '{$wpdb->prefix}keybridge_keks', 0 )" )->fetch_row()[0] );
		try {
			foreach ( array( 'rotate' => $known, 'store' => $new ) as $operation => $name ) {
				try {
					'rotate' === $operation ? Keybridge_Keys::instance()->rotate( $name ) : Keybridge_Keys::instance()->store( $name, 'orphan' );
					$this->fail( "$operation saved a KEK under another connection's lock" );
				} catch ( Keybridge_Exception $e ) {
					$this->assertSame( 'storage-failure', $e->problem_type(), $operation );
				}
			}
		} finally {
			mysqli_close( $other );
		}
		$this->assertSame( $kek, Keybridge_Keks::get( $known ) );
		Keybridge_Ciphertext_Cache::reset_request_cache();
		$this->assertSame( 'still readable', keybridge_get_key( $known ) );
		$this->assertNull( Keybridge_Keks::get( $new ) );
		$this->assertNotContains( $new, array_column( Keybridge_Plugin::client()->keys_list( array( 'limit' => 1000 ) )['keys'], 'name' ) );
		keybridge_delete_key( $known );
	}

	public function test_values_never_reach_the_database(): void {
		global $wpdb;
		$name  = Keybridge_WP_Fixture::unique( 'not-in-db' );
		$value = 'needle-' . bin2hex( random_bytes( 12 ) );
		$this->assertTrue( keybridge_set_key( $name, $value ) );
		$this->assertSame( $value, keybridge_get_key( $name ) );
		$like = '%' . $wpdb->esc_like( $value ) . '%';
		$this->assertSame( 0, (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$wpdb->options} WHERE option_value LIKE %s", $like ) ) );
		keybridge_delete_key( $name );
	}

	public function test_generate_rotate_and_missing_keys(): void {
		$keys = Keybridge_Keys::instance();
		$name = Keybridge_WP_Fixture::unique( 'generated' );
		$keys->generate( $name, 256, 'generated key' );
		$value = $keys->read( $name );
		$this->assertSame( 32, strlen( $value ) );

		$kek     = Keybridge_Keks::get( $name );
		$written = $keys->rotate( $name );
		$this->assertNotSame( $kek, $written['wrapping_key'] );
		$this->assertSame( $written['wrapping_key'], Keybridge_Keks::get( $name ) );
		$this->assertSame( $value, $keys->read( $name ), 'same value under the new KEK (the cached ciphertext was dropped)' );

		$keys->delete( $name );
		$this->assertNull( Keybridge_Keks::get( $name ) );
		try {
			$keys->delete( $name );
			$this->fail( 'deleted twice' );
		} catch ( Keybridge_Exception $e ) {
			$this->assertSame( 'key-not-found', $e->problem_type() );
		}
		foreach ( array( 'read', 'rotate' ) as $method ) {
			try {
				$keys->$method( $name );
				$this->fail( "$method of a missing key" );
			} catch ( Keybridge_Exception $e ) {
				$this->assertSame( 'key-not-found', $e->problem_type(), $method );
			}
		}
	}

	/**
	 * A KEK held for a name whose vault entry was set under another KEK (a database copied
	 * between environments): kek-mismatch, not a garbled value.
	 */
	public function test_a_foreign_kek_is_a_kek_mismatch(): void {
		$name = Keybridge_WP_Fixture::unique( 'foreign' );
		$this->assertTrue( keybridge_set_key( $name, 'mine' ) );
		$real = Keybridge_Keks::get( $name );
		Keybridge_Keks::put( $name, 'kb1$' . rtrim( strtr( base64_encode( random_bytes( 32 ) ), '+/', '-_' ), '=' ) );
		try {
			Keybridge_Ciphertext_Cache::reset_request_cache();
			Keybridge_Keys::instance()->read( $name );
			$this->fail( 'read with a foreign KEK' );
		} catch ( Keybridge_Exception $e ) {
			$this->assertSame( 'kek-mismatch', $e->problem_type() );
		} finally {
			Keybridge_Keks::put( $name, $real );
		}
		$this->assertSame( 'mine', keybridge_get_key( $name ) );
		keybridge_delete_key( $name );
	}
}
